"""Call-back requests of Accent Plastic & Reconstructive Surgery: intake API and staff alerts."""
