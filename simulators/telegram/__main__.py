"""Run the Telegram Bot API simulator stand-alone: `python -m simulators.telegram --port 8081`."""

from __future__ import annotations

import argparse
import asyncio
import signal

from .model import TelegramUser
from .simulator import DEFAULT_TOKEN, TelegramBotApi


def _chat(value: str) -> tuple[int, str]:
    """`1001:Alice` (a private chat with Alice) or `-1001234567890:Homelab` (a group)."""
    chat_id, _, name = value.partition(":")
    try:
        return int(chat_id), name or f"User {chat_id}"
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected CHAT_ID[:NAME], got {value!r}") from None


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.telegram",
        description="Serve a simulated Telegram Bot API for one bot over plain HTTP.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port (default 8081, 0: any)")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help=f"bot token ({DEFAULT_TOKEN})")
    parser.add_argument(
        "--chat",
        type=_chat,
        action="append",
        help="CHAT_ID[:NAME], repeatable: positive ids are private chats with that user, "
        "negative ids groups with that title (default 1001:Homelab Admin)",
    )
    parser.add_argument(
        "--rate-limit", action="store_true", help="answer >1 message/s in a chat with 429"
    )
    return parser.parse_args()


async def _serve(arguments: argparse.Namespace) -> None:
    bot_api = TelegramBotApi(
        token=arguments.token,
        host=arguments.host,
        port=arguments.port,
        rate_limit=arguments.rate_limit,
    )
    chats: list[tuple[int, str]] = arguments.chat or [(1001, "Homelab Admin")]
    for chat_id, name in chats:
        if chat_id > 0:
            bot_api.add_chat(chat_id, user=TelegramUser(id=chat_id, first_name=name))
        else:
            bot_api.add_chat(chat_id, title=name)
    await bot_api.start()
    first_chat = chats[0][0]
    banner = "\n".join(
        (
            f"Telegram Bot API simulator at {bot_api.url}",
            f"  api_endpoint: {bot_api.url}",
            f"  token: {bot_api.token}",
            f"  bot: @{bot_api.bot.username} (id {bot_api.bot.id})",
            f"  chats: {', '.join(f'{chat_id} ({name})' for chat_id, name in chats)}",
            f"  control: {bot_api.url}/simulator/messages",
            f'  a user writes: POST that URL {{"chat_id": {first_chat}, "text": "/status"}}',
            "Home Assistant: Telegram bot, polling, API endpoint (additional settings) as above.",
            "Ctrl-C stops it.",
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    # Printing these is the command's purpose: the user copies them into Home Assistant.
    print(banner, flush=True)  # noqa: T201
    try:
        await stop.wait()
    finally:
        await bot_api.stop()


def main() -> None:
    """Parse the arguments and serve until Ctrl-C or SIGTERM."""
    asyncio.run(_serve(_arguments()))


if __name__ == "__main__":
    main()
