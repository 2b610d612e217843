"""SOMF safety realignment (``thinksafe realign``): task vectors, the Concrete mask, merges,
DPO on the mask, exports. Importing it imports torch; the command checks the extra first."""
