"""One click command per module; main.py discovers them."""
