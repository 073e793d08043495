"""ShieldRec: a recommender agent that works for its user, not for the platform."""

__version__ = "0.1.0"
