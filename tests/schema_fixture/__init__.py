"""A two-revision migrations package, to test the schema check of nbcampus.db."""
