"""
Text as XML 1.0 can carry it.

XML 1.0 has no way to write most C0 control characters (a form feed or a
vertical tab comes with text copied from a PDF), nor U+FFFE and U+FFFF. The
XML outputs (TEI, CMIF, Atom) pass their text through :func:`xml_text`: the two
that stand for a break become a space, the others are dropped, so that one stray
character never turns the whole CMIF file into a server error.
"""

import re
from xml.sax.saxutils import escape

from django.utils.xmlutils import SimplerXMLGenerator

#: Whitespace controls, read as a break between words.
_BREAKS = re.compile("[\x0b\x0c]")
#: Everything else XML 1.0 cannot hold (tab, LF and CR it can).
_INVALID = re.compile("[\x00-\x08\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text):
    """``text`` without the characters XML 1.0 cannot hold (``None`` stays ``None``)."""
    if not text:
        return text
    return _INVALID.sub("", _BREAKS.sub(" ", text))


class ExactXMLGenerator(SimplerXMLGenerator):
    """
    Django's feed writer, keeping every character of the text: controls are
    cleaned as above instead of failing the feed, and a carriage return is written
    ``&#13;`` (a parser reads a bare one as a line feed).
    """

    def characters(self, content):
        if content:
            self._finish_pending_start_element()
            self._write(escape(xml_text(str(content)), {"\r": "&#13;"}))

    def startElement(self, name, attrs):
        attrs = {key: xml_text(value) if isinstance(value, str) else value for key, value in attrs.items()}
        super().startElement(name, attrs)
