"""Venues: one package per venue family (``ib``, ``ccxt``); each registers itself with :mod:`sdk.registry`."""
