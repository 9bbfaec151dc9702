"""Typing a button's words counts as pressing it. Someone who types "同意" under the consent question, "好" under a
video proposal or the name under "要发给谁？" means the button: the newest message the bot sent in the chat
(`bot.runtime.keyboards`) is looked at, and a typed word that names one of its buttons presses it, through the
same handlers as a real press (a refusal is answered in the chat instead of a popup).

A label typed in full (or in the words people use for it: "爸爸" for 父亲), or a part of it that names one button only (or, among several, the one it is closest to
when none of them says no), presses that button. A plain yes ("好",
"可以", "同意", "ok") presses the one button that says yes: the only button there is, or the only one that
starts with ✅ or says agree, accept or received without saying no."""

from __future__ import annotations

import re
import unicodedata

from telegram import CallbackQuery, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.runtime.context import BotContext

YES = frozenset({"好", "好的", "好吧", "行", "可以", "可以的", "同意", "我同意", "是", "是的", "对", "嗯", "嗯嗯", "收到",
                 "ok", "okay", "yes", "y", "agree", "iagree", "sure", "accept", "received"})
# Words that make a label a yes, and words that make it a no whatever else it says.
_YES_WORDS = ("同意", "接受", "可以", "好", "确认", "收到", "是", "agree", "accept", "yes", "received", "confirm")
_NO_WORDS = ("不", "没", "否", "别", "取消", "拒绝", "another", "not", "no", "don't", "cancel", "stop", "missed",
             "decline")
_PREFIX = "typed:"
# What people call a relation, to the word a button uses for it: "爸爸" under 父亲 / 母亲 is 父亲.
SAME_AS = {"爸爸": "父亲", "爸": "父亲", "老爸": "父亲", "爹": "父亲", "妈妈": "母亲", "妈": "母亲", "老妈": "母亲",
           "娘": "母亲", "祖父": "爷爷", "祖母": "奶奶", "外祖父": "外公", "姥爷": "外公", "外祖母": "外婆",
           "姥姥": "外婆", "dad": "father", "mum": "mother", "mom": "mother"}


def _plain(text: str) -> str:
    """Letters and digits only, case folded: "✅ 我同意！" and "我同意" read alike."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def _says_yes(label: str) -> bool:
    plain = _plain(label)
    words = set(re.findall(r"[a-z']+", unicodedata.normalize("NFKC", label).casefold()))
    negative = any(w in plain for w in _NO_WORDS if not w.isascii()) or bool(words & set(_NO_WORDS))
    positive = label.lstrip().startswith("✅") or any(w in plain for w in _YES_WORDS)
    return positive and not negative


def chosen(typed: str, buttons: list[tuple[str, str]]) -> str | None:
    """The callback data of the button these typed words press, or None."""
    said = _plain(typed)
    if not said or not buttons:
        return None
    labels = [(_plain(label), data) for label, data in buttons]
    exact = [data for plain, data in labels if plain == said]
    if len(exact) == 1:
        return exact[0]
    same = [data for plain, data in labels if plain == SAME_AS.get(said)]
    if len(same) == 1:
        return same[0]
    if said in YES:
        if len(buttons) == 1:
            return buttons[0][1]
        yes = [data for label, data in buttons if _says_yes(label)]
        return yes[0] if len(yes) == 1 else None
    part = [(plain, data) for plain, data in labels if len(said) >= 2 and said in plain]
    if len(part) == 1:
        return part[0][1]
    # "家长" under 邀请家长 / 邀请代理家长: the closest label (the fewest other words) is meant. Not when a label
    # says no ("没通话" is closer to "通话" than "已经通话"): then the person is asked to press.
    # Words every button shares ("邀请") name none of them.
    if 1 < len(part) < len(labels) and not any(_negative(plain) for plain, _data in part):
        extra = sorted((len(plain) - len(said), data) for plain, data in part)
        if extra[0][0] < extra[1][0]:
            return extra[0][1]
    return None


def _negative(plain: str) -> bool:
    return any(w in plain for w in _NO_WORDS if not w.isascii()) or \
        bool(set(re.findall(r"[a-z']+", plain)) & set(_NO_WORDS))


class TypedPress(CallbackQuery):
    """A press made by typing: there is no popup to answer, so what a popup would say is sent to the chat."""

    async def answer(self, text: str | None = None, show_alert: bool | None = None, *args, **kwargs) -> bool:
        if text:
            await self.get_bot().send_message(self.from_user.id, text)
        return True


async def press_typed(update: Update, context: BotContext) -> bool:
    """If the person typed the words of a button on the newest message in their chat, press it; True if so."""
    message = update.effective_message
    keyboards = context.bot_data.keyboards
    if message is None or not message.text or keyboards is None or update.effective_chat.type != Chat.PRIVATE:
        return False
    shown = keyboards.newest(message.chat_id)
    data = chosen(message.text, shown.buttons) if shown is not None else None
    if data is None:
        return False
    bot = context.bot
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=d)] for label, d in shown.buttons])
    on = Message(shown.message_id, message.date, message.chat, from_user=bot.bot, text=shown.text,
                 reply_markup=markup)
    query = TypedPress(f"{_PREFIX}{message.chat_id}:{message.message_id}", message.from_user, f"{_PREFIX}{message.chat_id}",
                       message=on, data=data)
    pressed = Update(update.update_id, callback_query=query)
    for part in (on, query, pressed):
        part.set_bot(bot)
    await context.application.process_update(pressed)
    return True
