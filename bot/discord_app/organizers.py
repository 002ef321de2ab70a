"""/kb: organizers add, remove and list this server's sources, rebuild, read gaps and change settings."""
# No `from __future__ import annotations`: discord.py reads these annotations at runtime.
import logging
from dataclasses import replace
from pathlib import Path
from typing import Literal

import discord
from discord import app_commands

from bot.discord_app.acknowledge import defer_thinking
from bot.discord_app.context import citebot, scope_of, who
from bot.discord_app.errors import NotOrganizer
from bot.discord_app.guild_config import PRIVATE
from bot.discord_app.locale import member_language
from bot.discord_app.permissions import is_organizer, may_manage_server
from bot.discord_app.pins import audit, describe_pin, offer_sentences, pin_option_choices
from bot.discord_app.rendering import LIST_LINES, gaps_embed, notice_embed, page_of, server_sources_embed
from bot.discord_app.text import clip, safe
from bot.errors import CitebotError, SourceRejected
from bot.messages import say
from knowledge.readers import SUPPORTED_SUFFIXES, SourceDefaults
from knowledge.records import STATISTIC_KIND, Source

log = logging.getLogger(__name__)

def one_per_file(sources: list[Source]) -> list[Source]:
    """Sources with each statistics CSV collapsed into one entry (its rows are removed together)."""
    out: list[Source] = []
    files: dict[str, int] = {}
    counts: dict[str, int] = {}
    for source in sources:
        if source.kind != STATISTIC_KIND:
            out.append(source)
            continue
        counts[source.path] = counts.get(source.path, 0) + 1
        if source.path not in files:
            files[source.path] = len(out)
            out.append(source)
    for path, index in files.items():
        out[index] = replace(out[index], title=f"{Path(path).name} ({counts[path]} statistics)")
    return out


def described(sources: tuple[Source, ...] | list[Source]) -> str:
    """'“Title” (id `x`)' for each source, safe to show."""
    return "\n".join(f"• “{clip(safe(s.title), 120)}” (id `{clip(s.id, 60)}`)" for s in one_per_file(list(sources)))


class KnowledgeBaseGroup(app_commands.Group):
    """The /kb commands; Discord shows them to Manage Server by default, and each use is checked again."""

    def __init__(self) -> None:
        super().__init__(name="kb", description="Organizers: manage the sources citebot answers from here",
                         guild_only=True, default_permissions=discord.Permissions(manage_guild=True))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Organizers only; anyone else gets NotOrganizer (a private refusal)."""
        # Server admins can open /kb to other roles in Discord's settings: check every use ourselves.
        if not await is_organizer(interaction):
            raise NotOrganizer()
        return True

    async def _start(self, interaction: discord.Interaction) -> None:
        """Defer privately: /kb replies are for the organizer only."""
        await defer_thinking(interaction, ephemeral=True)

    async def _audit(self, interaction: discord.Interaction, action: str, detail: str) -> None:
        """Record who changed what (the audit log), and log it."""
        client = citebot(interaction)
        await client.run_io(client.service.activity.audit, scope_of(interaction) or "", str(interaction.user.id),
                            interaction.user.name, action, detail)
        log.info("guild %s: %s by %s: %s", interaction.guild_id, action, who(interaction), detail[:200])

    async def _reply(self, interaction: discord.Interaction, title: str, text: str) -> None:
        """The private confirmation (title and text already in the organizer's language)."""
        await interaction.followup.send(embed=notice_embed(title, text), ephemeral=True)

    @app_commands.command(name="add-url", description="Add a web page or document (http/https)")
    @app_commands.describe(url="The page's address, e.g. https://example.org/report.pdf")
    async def add_url(self, interaction: discord.Interaction, url: app_commands.Range[str, 8, 2048]) -> None:
        """/kb add-url: fetch safely, store for this server, audit."""
        client = citebot(interaction)
        checked = client.fetcher.checked_url(url)  # a malformed URL is refused before anything else
        await self._start(interaction)
        document = await client.fetcher.fetch(str(checked))
        scope = scope_of(interaction) or ""
        publisher = checked.host or "web page"
        defaults = SourceDefaults(publisher=publisher, url=document.url, scope=scope, added_by=who(interaction))
        sources = await client.run_write(client.service.add_source, scope, document.filename, document.data,
                                         added_by=who(interaction), defaults=defaults)
        await self._audit(interaction, "add-url", f"{document.url} -> {', '.join(s.id for s in sources)}")
        language = member_language(interaction)
        await self._reply(interaction, say("kb_added_title", language),
                          f"{described(sources)}\n\n{say('kb_added', language)}")

    @app_commands.command(name="upload", description="Add a file: .md, .txt, .html, .pdf or .csv")
    @app_commands.describe(file="The source file (CSV files must use the statistics columns)")
    async def upload(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """/kb upload: type and size checked before and after the download, stored, audited."""
        client = citebot(interaction)
        limit = client.settings.upload_max_bytes
        suffix = Path(file.filename).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise SourceRejected(f"{file.filename} is a {suffix or 'file without extension'}; "
                                 f"upload one of {', '.join(SUPPORTED_SUFFIXES)}.")
        if file.size > limit:  # refuse before downloading anything
            raise SourceRejected(f"{file.filename} is {file.size / 1024 / 1024:.1f} MB; the limit is "
                                 f"{limit / 1024 / 1024:g} MB.")
        await self._start(interaction)
        data = await file.read()
        if len(data) > limit:  # the reported size was wrong
            raise SourceRejected(f"{file.filename} is larger than {limit / 1024 / 1024:g} MB.")
        scope = scope_of(interaction) or ""
        sources = await client.run_write(client.service.add_source, scope, file.filename, data,
                                         added_by=who(interaction))
        await self._audit(interaction, "upload", f"{file.filename} -> {', '.join(s.id for s in sources)}")
        language = member_language(interaction)
        await self._reply(interaction, say("kb_added_title", language),
                          f"{described(sources)}\n\n{say('kb_added', language)}")

    @app_commands.command(name="remove", description="Remove a source this server added")
    @app_commands.describe(source="Start typing a title or id")
    async def remove(self, interaction: discord.Interaction, source: app_commands.Range[str, 1, 100]) -> None:
        """/kb remove: delete one of this server's sources (a CSV as a whole), audited."""
        client = citebot(interaction)
        await self._start(interaction)
        removed = await client.run_write(client.service.remove_source, scope_of(interaction) or "", source)
        await self._audit(interaction, "remove", f"{removed.id} ({removed.title[:100]})")
        what = f"{Path(removed.path).name} (all its statistics)" if removed.kind == STATISTIC_KIND else \
            f"“{clip(safe(removed.title), 150)}”"
        language = member_language(interaction)
        await self._reply(interaction, say("kb_removed_title", language), say("kb_removed", language, what=what))

    @remove.autocomplete("source")
    async def remove_choices(self, interaction: discord.Interaction, current: str
                             ) -> list[app_commands.Choice[str]]:
        """The server's sources matching what the organizer typed (at most 25)."""
        # Autocomplete skips the group's check: apply it here, and never fail (Discord would show an error).
        try:
            if not await is_organizer(interaction):
                return []
            client = citebot(interaction)
            sources = one_per_file(await client.run_io(client.service.scope_sources, scope_of(interaction) or ""))
        except Exception:
            log.exception("autocomplete for /kb remove failed")
            return []
        needle = current.lower().strip()
        choices = [app_commands.Choice(name=clip(f"{s.title} ({s.id})", 100), value=s.id)
                   for s in sources if len(s.id) <= 100 and needle in f"{s.title} {s.id}".lower()]
        return choices[:25]

    @app_commands.command(name="list", description="List this server's sources and who added each")
    @app_commands.describe(page="Page number (15 sources per page)")
    async def list_sources(self, interaction: discord.Interaction,
                           page: app_commands.Range[int, 1, 1000] = 1) -> None:
        """/kb list: this server's sources and who added each."""
        client = citebot(interaction)
        await self._start(interaction)
        scope = scope_of(interaction) or ""
        sources = one_per_file(await client.run_io(client.service.scope_sources, scope))
        shown, where = page_of(sources, page - 1, LIST_LINES)
        await interaction.followup.send(embed=server_sources_embed(shown, where, scope), ephemeral=True)

    @app_commands.command(name="reindex", description="Re-read every source and bring the index up to date")
    async def reindex(self, interaction: discord.Interaction) -> None:
        """/kb reindex: bring the index up to date, report skipped files, audited."""
        client = citebot(interaction)
        await self._start(interaction)
        outcome = await client.run_write(client.service.build_index)
        report = outcome.report
        await self._audit(interaction, "reindex", f"{report.sources} sources, {report.passages} passages, "
                                                  f"{report.embedded} embedded, {len(outcome.problems)} skipped")
        language = member_language(interaction)
        text = say("kb_reindexed", language, sources=report.sources, passages=report.passages,
                   embedded=report.embedded, reused=report.reused)
        if outcome.problems:
            skipped = "\n".join(f"• {clip(safe(Path(p.path).name), 80)}: {clip(safe(p.reason), 150)}"
                                for p in outcome.problems[:10])
            text += f"\n\n{say('kb_skipped', language, count=len(outcome.problems))}\n{skipped}"
        await self._reply(interaction, say("kb_reindexed_title", language), text)

    @app_commands.command(name="gaps", description="Questions the sources did not answer, most frequent first")
    async def gaps(self, interaction: discord.Interaction) -> None:
        """/kb gaps: unanswered and down-voted questions, pins no longer served, answers members liked."""
        client = citebot(interaction)
        await self._start(interaction)
        scope = scope_of(interaction) or ""
        found = await client.run_io(client.service.activity.gaps, scope)
        broken = await client.run_io(client.service.broken_pins, scope)
        suggested = await client.run_io(client.service.suggested_pins, scope)
        await interaction.followup.send(embed=gaps_embed(found, broken, suggested, member_language(interaction)),
                                        ephemeral=True)

    @app_commands.command(name="fix", description="Choose the sentences that answer a question, or a decline")
    @app_commands.describe(question="The question as members ask it",
                           search="Other words to find candidate sentences with (optional)")
    async def fix(self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 500],
                  search: app_commands.Range[str, 1, 500] | None = None) -> None:
        """/kb fix: a private menu of candidate sentences; the choice becomes a pinned answer."""
        await offer_sentences(interaction, question, search)

    @app_commands.command(name="pins", description="List, show, remove or confirm pinned answers")
    @app_commands.describe(pin="A pin (or a suggested pin) to show", remove="Remove the pin",
                           confirm="Pin the suggested answer shown")
    async def pins(self, interaction: discord.Interaction, pin: app_commands.Range[str, 1, 40] | None = None,
                   remove: bool = False, confirm: bool = False) -> None:
        """/kb pins: this server's pins (no pin given), one pin, its removal, or a suggestion confirmed."""
        client = citebot(interaction)
        await self._start(interaction)
        scope = scope_of(interaction) or ""
        if pin is not None and pin.startswith("suggest:"):
            question_id = int(pin.removeprefix("suggest:")) if pin.removeprefix("suggest:").isdigit() else -1
            if not confirm:
                raise CitebotError("Add `confirm: True` to pin this suggested answer.")
            made = await client.run_io(client.service.confirm_suggestion, scope, question_id, who(interaction))
            await audit(interaction, "pin-confirm", f"pin {made.id} from question {question_id}")
            await self._reply(interaction, say("kb_pinned_title", member_language(interaction)), describe_pin(made))
            return
        pins = await client.run_io(client.service.pins, scope)
        broken = {p.id for p in await client.run_io(client.service.broken_pins, scope)}
        language = member_language(interaction)
        if pin is None:
            text = ("\n\n".join(describe_pin(p, p.id in broken) for p in pins[:LIST_LINES])
                    or say("kb_no_pins", language))
            await self._reply(interaction, say("kb_pins_title", language, count=len(pins)), text)
            return
        chosen = next((p for p in pins if str(p.id) == pin), None)
        if chosen is None:
            raise CitebotError(f"There is no pin {clip(safe(pin), 40)} in this server. See /kb pins.")
        if remove:
            await client.run_io(client.service.remove_pin, scope, chosen.id)
            await audit(interaction, "unpin", f"pin {chosen.id}: {chosen.question[:150]}")
            await self._reply(interaction, say("kb_unpinned_title", language),
                              say("kb_unpinned", language, id=chosen.id, question=clip(safe(chosen.question), 200)))
            return
        await self._reply(interaction, f"Pin {chosen.id}", describe_pin(chosen, chosen.id in broken))

    @pins.autocomplete("pin")
    async def pin_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """The server's pins, then the answers members suggested, matching what was typed."""
        try:
            if not await is_organizer(interaction):
                return []
            client = citebot(interaction)
            scope = scope_of(interaction) or ""
            choices = pin_option_choices(await client.run_io(client.service.pins, scope), current)
            for s in await client.run_io(client.service.suggested_pins, scope):
                if current.lower().strip() in s.question.lower():
                    choices.append(app_commands.Choice(name=clip(f"suggested ({s.helpful} 👍): {s.question}", 100),
                                                       value=f"suggest:{s.question_id}"))
        except Exception:
            log.exception("autocomplete for /kb pins failed")
            return []
        return choices[:25]

    @app_commands.command(name="settings", description="Organizer role, default answer visibility, cooldown")
    @app_commands.describe(organizer_role="Members with this role may use /kb (needs Manage Server to change)",
                           clear_organizer_role="Remove the organizer role (needs Manage Server)",
                           visibility="Whether answers are public or private unless the member chooses",
                           cooldown="Seconds a member waits between questions (0 turns it off)")
    async def settings(self, interaction: discord.Interaction, organizer_role: discord.Role | None = None,
                       visibility: Literal["public", "private"] | None = None,
                       cooldown: app_commands.Range[int, 0, 3600] | None = None,
                       clear_organizer_role: bool = False) -> None:
        """/kb settings: show or change the organizer role, default visibility and cooldown, audited."""
        client = citebot(interaction)
        if (organizer_role is not None or clear_organizer_role) and not may_manage_server(interaction):
            # Otherwise a role holder could hand /kb to any role, @everyone included.
            raise CitebotError("Changing the organizer role needs the Manage Server permission.")
        await self._start(interaction)
        scope = scope_of(interaction) or ""
        changes: dict[str, object] = {}
        if organizer_role is not None:
            changes["organizer_role_id"] = organizer_role.id
        elif clear_organizer_role:
            changes["organizer_role_id"] = None
        if visibility is not None:
            changes["private_by_default"] = visibility == PRIVATE
        if cooldown is not None:
            changes["cooldown_seconds"] = float(cooldown)
        if changes:
            config = await client.guild_configs.update(scope, **changes)
            await self._audit(interaction, "settings", ", ".join(f"{k}={v}" for k, v in changes.items()))
            title = say("kb_settings_changed_title", member_language(interaction))
        else:
            config = await client.guild_configs.get(scope)
            title = say("kb_settings_title", member_language(interaction))
        await self._reply(interaction, title, config.describe())
