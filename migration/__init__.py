"""mdph-reprise: take over the ITAC and OPALES legacy data of an MDPH."""

__version__ = "0.1.0"
