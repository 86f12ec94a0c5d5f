"""Call-back requests of Accent Plastic & Reconstructive Surgery: intake API and staff alerts."""

# Before any entry point imports Powertools: its two aggregate packages load only the names used
# (core/lazy_packages.py; docs/performance.md "Powertools' package imports").
from callbacks.core.lazy_packages import defer_powertools_aggregates

defer_powertools_aggregates()
