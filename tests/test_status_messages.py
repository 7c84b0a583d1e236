"""The confirmations shown after an action ("Remise enregistrée…", "Votre profil est enregistré.")
are a list inside a status region: a role on the list itself would hide the list from assistive
technologies and leave its items orphaned (axe-core's "listitem", a serious violation)."""

from __future__ import annotations

from html.parser import HTMLParser

from django.template.loader import render_to_string


class Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, dict[str, str | None]]] = []
        self.items: list[list[tuple[str, dict[str, str | None]]]] = []  # each <li>'s ancestors

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li":
            self.items.append(list(self.open))
        self.open.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop()[0] != tag:
            pass


def test_the_messages_are_a_plain_list_inside_a_status_region() -> None:
    messages = [Message("Remise enregistrée.", "success"), Message("Code inconnu.", "error")]
    html = render_to_string("frontend/_messages.html", {"messages": messages})
    tree = Tree()
    tree.feed(html)

    assert len(tree.items) == 2
    for ancestors in tree.items:
        parent_tag, parent = ancestors[-1]
        assert parent_tag == "ul" and "role" not in parent, html  # still a list for assistive technologies
        assert any(attrs.get("role") == "status" for _tag, attrs in ancestors), html
    assert "Remise enregistrée." in html and 'class="error"' in html


class Message:
    """What django.contrib.messages gives a template: its text as a string, and its tags."""

    def __init__(self, text: str, tags: str) -> None:
        self.text, self.tags = text, tags

    def __str__(self) -> str:
        return self.text
