"""Help center articles: agents write, admins publish (auth.ADMIN_ROUTES and services/articles.py); images, the
preview, and the report of views, helpfulness and the searches that found nothing."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard.api import auth
from switchboard.api.help_schemas import (
    ArticleIn,
    ArticleList,
    ArticleOut,
    ArticlePatch,
    ArticleReport,
    ArticleSummary,
    ImageGrant,
    ImageIn,
    PreviewIn,
    PreviewOut,
    PublishQueued,
)
from switchboard.services import articles, help_images
from switchboard.store import articles as article_store
from switchboard.store.table import Table

router = APIGatewayHttpRouter()
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


@router.get("/api/articles", summary="Help center articles, newest edit first; q searches them (the composer)")
def list_articles(
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(pattern=r"^(draft|published)$")] = None,
    locale: Annotated[str | None, Query(pattern=r"^[a-z]{2}(-[a-z]{2})?$")] = None,
) -> ArticleList:
    return ArticleList(items=[ArticleSummary.model_validate(a)
                              for a in articles.list_articles(Table(), q, status, locale)])


@router.post("/api/articles", summary="Write an article (a draft; admins may publish it at once)",
             responses={201: {"description": "created", "content": {"application/json": {"model": ArticleOut}}}})
def create_article(body: ArticleIn) -> Response[ArticleOut]:
    who = auth.current(router)
    created = articles.create(Table(), body.model_dump(exclude_none=True), who.email, who.is_admin)
    return Response(status_code=201, content_type="application/json", body=ArticleOut.model_validate(created))


@router.post("/api/articles/preview", summary="The page as it would be published, from unsaved fields")
def preview_article(body: PreviewIn) -> PreviewOut:
    fields = body.model_dump(exclude_none=True)
    return PreviewOut(html=articles.preview(fields, fields.pop("id", None)))


@router.post("/api/articles/republish", summary="Rebuild the public help center now (admins)",
             responses={202: {"description": "queued", "content": {"application/json": {"model": PublishQueued}}}})
def republish() -> Response[PublishQueued]:
    articles.request_publish("republish")
    return Response(status_code=202, content_type="application/json", body=PublishQueued())


@router.get("/api/articles/<article_id>", summary="An article, with its views and helpful counts")
def get_article(article_id: str) -> ArticleOut:
    return ArticleOut.model_validate(articles.get(Table(), article_id))


@router.patch("/api/articles/<article_id>", summary="Edit an article; admins publish or unpublish it (status)")
def patch_article(article_id: str, body: ArticlePatch) -> ArticleOut:
    who = auth.current(router)
    fields = body.model_dump(exclude_unset=True)
    if any(fields.get(k) is None for k in ("title", "body", "slug", "locale", "status") if k in fields):
        fields = {k: v for k, v in fields.items() if v is not None}
    return ArticleOut.model_validate(articles.update(Table(), article_id, fields, who.email, who.is_admin))


@router.delete("/api/articles/<article_id>", summary="Delete an article (a published one: admins)",
               responses={204: {"description": "deleted"}})
def delete_article(article_id: str) -> Response[None]:
    who = auth.current(router)
    articles.delete(Table(), article_id, who.email, who.is_admin)
    return Response(status_code=204, content_type="application/json", body="")  # type: ignore[arg-type]  # no content


@router.post("/api/articles/<article_id>/images", summary="Upload an image of an article: an S3 presigned POST",
             responses={201: {"description": "POST the file to url",
                              "content": {"application/json": {"model": ImageGrant}}}})
def article_image(article_id: str, body: ImageIn) -> Response[ImageGrant]:
    article_store.get(Table(), article_id)  # 404 for an article that does not exist
    grant = help_images.grant(article_id, body.filename, body.content_type, body.size)
    return Response(status_code=201, content_type="application/json", body=ImageGrant(
        image_id=grant.image_id, path=grant.path, url=grant.url, fields=grant.fields, markdown=grant.markdown))


@router.get("/api/reports/articles", summary="Articles' views and helpfulness, and the searches that found nothing")
def article_report(
    from_: Annotated[str | None, Query(alias="from", pattern=DATE_PATTERN)] = None,
    to: Annotated[str | None, Query(pattern=DATE_PATTERN)] = None,
) -> ArticleReport:
    return ArticleReport.model_validate(articles.report(Table(), from_, to))
