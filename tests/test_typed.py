"""Which button typed words press (handlers.typed.chosen): a whole label, a part naming one button, the closest of
several when none says no, a plain yes; nothing when it is unclear."""

from __future__ import annotations

import pytest

from handlers.typed import chosen

INVITE = [("邀请家长", "p"), ("邀请监护人", "g"), ("邀请代理家长", "x"), ("✉️ 邀请三年级一班的全部家庭", "all")]
CALL = [("✅ 已经通话", "done"), ("❌ 没通话", "missed"), ("🔁 改到别的时间", "move")]


@pytest.mark.parametrize("typed,buttons,expected", [
    ("邀请家长", INVITE, "p"),          # the whole label
    ("监护人", INVITE, "g"),            # a part naming one button
    ("家长", INVITE, "p"),              # in two labels: the closer one
    ("代理家长", INVITE, "x"),
    ("通话", CALL, None),               # in a yes and a no: unclear, so nothing is pressed
    ("好", CALL, "done"),               # a plain yes
    ("邀请", INVITE, None),             # in all of them alike
    ("a", [("a1", "1"), ("a2", "2")], None),
    ("爸爸", [("父亲", "f"), ("母亲", "m")], "f"),   # what people call the relation
    ("姥姥", [("爷爷", "1"), ("奶奶", "2"), ("外公", "3"), ("外婆", "4")], "4"),
])
def test_typed_words_press_the_button_they_name(typed, buttons, expected):
    assert chosen(typed, buttons) == expected
