"""`python -m gamevault` is the `gamevault` command."""

from gamevault.cli.main import main

if __name__ == "__main__":
    main()
