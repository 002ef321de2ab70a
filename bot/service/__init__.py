"""The answering API every surface uses: keeps the index current and answers questions in a scope.

`KnowledgeService` is assembled from one part per job: loading and switching indexes (`_loading`),
pinned answers (`_pins`), organizers' sources (`_sources`) and several processes sharing one index
(`_replicas`); `_core` holds construction, building and answering.
"""
from bot.service._common import MULTILINGUAL_FOLDER, IndexOutcome, ServerData, clean_question
from bot.service._core import KnowledgeService, fused_as, in_language

__all__ = ["MULTILINGUAL_FOLDER", "IndexOutcome", "KnowledgeService", "ServerData", "clean_question", "fused_as",
           "in_language"]
