"""``python -m seecodes_client``: the seecodes CLI."""
from .cli import main_exit

main_exit()
