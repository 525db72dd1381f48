"""LTI 1.3 Advantage and LTI 1.1: launches from Moodle and Canvas, deep linking, roster and
grade passback. The security-critical checks live in `validators`, apart from the handlers."""
