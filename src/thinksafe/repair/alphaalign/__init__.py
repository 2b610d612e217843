"""AlphaAlign: RL alignment with a verifiable safety reward and a normalised helpfulness reward
(``thinksafe align``). ``template`` and ``rewards`` are pure; ``train`` needs the ``align``
extra."""
