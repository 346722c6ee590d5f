"""Request and response models of the help center's routes (the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from switchboard.api.schemas import ApiModel

Status = Literal["draft", "published"]


class ArticleIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=150)
    body: str = Field("", max_length=100_000, description="Markdown (raw HTML is shown as text)")
    category: str | None = Field(None, max_length=60, description='default "General"')
    locale: str | None = Field(None, max_length=5, description="en, pt-br...; default: the help center's")
    slug: str | None = Field(None, max_length=80, description="unique across locales; default: from the title")
    status: Status | None = Field(None, description='"published" publishes it at once (admins)')


class ArticlePatch(ApiModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(None, min_length=1, max_length=150)
    body: str | None = Field(None, max_length=100_000)
    category: str | None = Field(None, max_length=60)
    locale: str | None = Field(None, max_length=5)
    slug: str | None = Field(None, max_length=80)
    status: Status | None = Field(None, description='admins: "published" publishes the article as saved (again, '
                                                    'after edits); "draft" takes it off the help center')


class ArticleSummary(ApiModel):
    id: str
    title: str
    category: str
    locale: str
    slug: str
    status: Status
    version: int
    url: str | None = Field(None, description="the public page (published articles)")
    unpublished_changes: bool = Field(False, description="edited since it was published: the page shows the last "
                                                         "published version until an admin publishes again")
    snippet: str = ""
    created_by: str | None = None
    created_at: str | None = None
    updated_by: str | None = None
    updated_at: str | None = None
    published_at: str | None = None
    published_by: str | None = None


class ArticleList(ApiModel):
    items: list[ArticleSummary]


class ArticleOut(ArticleSummary):
    body: str
    views: int = Field(0, description="page views, all time")
    helpful: int = Field(0, description='readers who answered "yes" to "Was this helpful?", all time')
    not_helpful: int = 0


class PreviewIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(None, max_length=40, description="the article's id, when it has one")
    title: str = Field(min_length=1, max_length=150)
    body: str = Field("", max_length=100_000)
    category: str | None = Field(None, max_length=60)
    locale: str | None = Field(None, max_length=5)
    slug: str | None = Field(None, max_length=80)


class PreviewOut(ApiModel):
    html: str = Field(description="the whole page as it would be published (show it in a sandboxed iframe)")


class ImageIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    filename: str = Field(min_length=1, max_length=200)
    content_type: str = Field(min_length=1, max_length=100, description="image/png, image/jpeg, image/gif, image/webp")
    size: int = Field(ge=1, description="bytes")


class ImageGrant(ApiModel):
    image_id: str
    path: str = Field(description="the image's public path once published: write it in the Markdown")
    url: str = Field(description="POST the fields and the file (multipart/form-data) here")
    fields: dict[str, str]
    markdown: str = Field(description="![alt](path), ready to insert")


class PublishQueued(ApiModel):
    queued: bool = True


class ArticleReportRow(ApiModel):
    id: str
    title: str
    views: int
    helpful: int
    not_helpful: int
    widget_opens: int = Field(0, description="opened from the widget's suggestions before a chat")
    chats_after: int = Field(0, description="of those, visitors who still started a chat (not deflected)")


class FailedSearch(ApiModel):
    q: str
    count: int


class Deflection(ApiModel):
    opened_from_widget: int
    chat_after_opening: int
    deflected: int


class ArticleReport(ApiModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    items: list[ArticleReportRow] = Field(description="most viewed first")
    least_helpful: list[str] = Field(description="article ids, least helpful first (of those with answers)")
    failed_searches: list[FailedSearch] = Field(description="what visitors searched for that found nothing, "
                                                            "most asked first: the questions to write next")
    deflection: Deflection


class Suggestion(ApiModel):
    id: str | None = None
    title: str
    url: str
    snippet: str = ""


class SuggestionList(ApiModel):
    items: list[Suggestion]


class FeedbackIn(ApiModel):
    article: str = Field(description="the article's id")
    helpful: bool


class ViewIn(ApiModel):
    article: str
    source: Literal["page", "widget"] | None = Field(None, description='"widget": opened from its suggestions')


class ChatAfterIn(ApiModel):
    article: str = Field(description="an article the visitor opened from the widget's suggestions before this chat")


class Ok(ApiModel):
    ok: bool = True
