"""Screening of uploaded screenshots for wallet secrets, before anything is stored.

``formats`` tells the image type from its bytes, ``normalize`` decodes it under
limits and re-encodes it without metadata, ``ocr`` and ``qr`` read its text and
QR codes, and ``screening.screen_image`` puts them together with the secret
guard (``support_core.secret_guard``). Plain Python: no Rasa, no web framework;
nothing is loaded until it is first used.
"""
