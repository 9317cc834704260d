"""tic-alert: alerts on the U.S. Treasury's TIC releases."""

__version__ = "0.1.0"
