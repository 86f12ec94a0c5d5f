"""The shapes of a call-back request, by role.

- ``choices``: the closed lists both the form and the record use (best time, interest);
- ``form``: what the website's form posts, with every field rule and the words a visitor reads;
- ``api``: what the API answers (receipts and errors);
- ``record``: the stored record (and the consent it carries).
"""
