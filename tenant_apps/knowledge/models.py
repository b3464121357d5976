"""Knowledge: models arrive with the profiles, reviews and knowledge base issue."""
