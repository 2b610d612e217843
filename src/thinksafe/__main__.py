"""``python -m thinksafe``: the same as the ``thinksafe`` command."""

from thinksafe.cli.main import entry

if __name__ == "__main__":
    entry()
