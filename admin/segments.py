"""Segment builder, live preview and target lists pages of the admin."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from admin.json_replies import json_error
from admin.pages import MAX_ID
from admin.sections import ADMIN, MARKETER, roles_for
from admin.security import current_user, role_required
from campaign_engine.app import current_runtime
from campaign_engine.db import transaction
from campaign_engine.errors import Conflict, DomainError, InvalidInput, Problem
from campaign_engine.segments.fields import PROFILE_FIELDS, TRAIT_FIELDS
from campaign_engine.segments.service import (
    catalogue,
    create_segment,
    delete_segment,
    get_segment,
    list_segments,
    preview_segment,
    update_segment,
)
from campaign_engine.segments.target_lists import (
    SORT_FIELDS,
    create_snapshot,
    create_static_list,
    get_members_page,
    get_target_list,
    list_target_lists,
    write_csv,
)

VIEWERS = roles_for("segments")
EDITORS = (ADMIN, MARKETER)
MEMBERS_PER_PAGE = 50
# Exports spill from memory to a temporary file beyond this, so a big list never sits in RAM.
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
FIELD_LABELS = {name: field.label for name, field in (PROFILE_FIELDS | TRAIT_FIELDS).items()}
SORT_CHOICES = [(name, FIELD_LABELS.get(name, "Contact id")) for name in SORT_FIELDS]
# Saving can fail on the definition (422) or on a name another segment already has (409).
SAVE_ERRORS = (InvalidInput, Conflict)


# --- segments ---------------------------------------------------------------------------------


@role_required(*VIEWERS)
def segments() -> ResponseReturnValue:
    """List saved segments with their last known size."""
    with transaction(current_runtime().sessions) as session:
        rows = list_segments(session)
    return render_template("segments.html", segments=rows, can_edit=_can_edit())


@role_required(*VIEWERS)
def new_segment() -> ResponseReturnValue:
    """Open the builder on an empty segment."""
    return _builder(None, name="", description="", definition=None)


@role_required(*EDITORS)
def save_new_segment() -> ResponseReturnValue:
    """Create a segment from the builder form."""
    name, description, text = _segment_form()
    try:
        definition = _parse_json(text)
        with transaction(current_runtime().sessions) as session:
            segment = create_segment(
                session,
                name=name,
                description=description,
                definition=definition,
                created_by=_user_email(),
            )
            saved_name = segment.name
    except SAVE_ERRORS as error:
        return _builder(None, name, description, text, error)
    flash(f"Segment “{saved_name}” saved.")
    return redirect(url_for("admin.segments"))


@role_required(*VIEWERS)
def segment(segment_id: int) -> ResponseReturnValue:
    """Open the builder on a saved segment."""
    with transaction(current_runtime().sessions) as session:
        row = get_segment(session, segment_id)
        name, description, definition = row.name, row.description, row.definition
    return _builder(segment_id, name, description, json.dumps(definition))


@role_required(*EDITORS)
def save_segment(segment_id: int) -> ResponseReturnValue:
    """Save changes made in the builder to a segment."""
    name, description, text = _segment_form()
    try:
        definition = _parse_json(text)
        with transaction(current_runtime().sessions) as session:
            saved_name = update_segment(
                session, segment_id, name=name, description=description, definition=definition
            ).name
    except SAVE_ERRORS as error:
        return _builder(segment_id, name, description, text, error)
    flash(f"Segment “{saved_name}” saved.")
    return redirect(url_for("admin.segments"))


@role_required(*EDITORS)
def remove_segment(segment_id: int) -> ResponseReturnValue:
    """Delete a segment (refused while another segment refers to it)."""
    with transaction(current_runtime().sessions) as session:
        delete_segment(session, segment_id)
    flash("Segment deleted.")
    return redirect(url_for("admin.segments"))


@role_required(*VIEWERS)
def segment_catalogue() -> ResponseReturnValue:
    """Return what the builder may offer: fields, operators, categories, products, segments."""
    with transaction(current_runtime().sessions) as session:
        return jsonify(catalogue(session))


@role_required(*VIEWERS)
def preview() -> ResponseReturnValue:
    """Count a definition sent by the builder; answer 422 with problem locations when invalid."""
    body = request.get_json(silent=True)
    definition = body.get("definition") if isinstance(body, dict) else None
    try:
        with transaction(current_runtime().sessions) as session:
            result = preview_segment(session, definition, now=datetime.now(UTC))
    except DomainError as error:
        return json_error(error)
    return jsonify(
        count=result.count,
        seconds=result.seconds,
        sample=result.sample,
        funnel=[
            {"path": s.path, "label": s.label, "alone": s.alone, "cumulative": s.cumulative}
            for s in result.funnel
        ],
    )


# --- target lists -----------------------------------------------------------------------------


@role_required(*VIEWERS)
def target_lists() -> ResponseReturnValue:
    """List target lists, with the forms that create them."""
    segment_id = request.args.get("segment", type=int)
    return _target_lists_page({"segment_id": segment_id, "descending": True}, [], 200)


@role_required(*EDITORS)
def snapshot() -> ResponseReturnValue:
    """Freeze a segment's current members into a new target list."""
    form = request.form
    try:
        with transaction(current_runtime().sessions) as session:
            created = create_snapshot(
                session,
                form.get("segment_id", 0, type=int),
                name=form.get("name", "").strip(),
                now=datetime.now(UTC),
                sort_by=form.get("sort_by") or None,
                descending=form.get("descending") == "on",
                limit=_form_int("limit"),
                dedupe_by=form.get("dedupe_by") or None,
                created_by=_user_email(),
            )
            list_id, size = created.id, created.size
    except InvalidInput as error:
        return _target_lists_page(_snapshot_values(), error.problems, 422)
    flash(f"Target list created with {size:,} contacts.")
    return redirect(url_for("admin.target_list", list_id=list_id))


@role_required(*EDITORS)
def upload_list() -> ResponseReturnValue:
    """Create a static target list from an uploaded CSV of contact keys."""
    name = request.form.get("name", "").strip()
    match_by = request.form.get("match_by", "")
    try:
        csv_text = _uploaded_text()
        with transaction(current_runtime().sessions) as session:
            result = create_static_list(
                session,
                name=name,
                csv_text=csv_text,
                match_by=match_by,
                created_by=_user_email(),
            )
            list_id, list_name = result.target_list.id, result.target_list.name
    except InvalidInput as error:
        values = {"static_name": name, "match_by": match_by}
        return _target_lists_page(values, error.problems, 422)
    page = render_template(
        "target_list.html",
        upload={"id": list_id, "name": list_name, "matched": result.matched},
        unmatched=result.unmatched,
        members=None,
    )
    return page, 201


@role_required(*VIEWERS)
def target_list(list_id: int) -> ResponseReturnValue:
    """Show one target list's members, a page at a time."""
    page = max(request.args.get("page", 1, type=int), 1)
    with transaction(current_runtime().sessions) as session:
        target = get_target_list(session, list_id)
        members = get_members_page(session, list_id, page, MEMBERS_PER_PAGE)
    return render_template("target_list.html", target=target, members=members, upload=None)


@role_required(*VIEWERS)
def download_list(list_id: int) -> ResponseReturnValue:
    """Stream a target list as CSV."""
    # The response closes the file once it is sent, so no `with` here.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")  # noqa: SIM115
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
    try:
        with transaction(current_runtime().sessions) as session:
            write_csv(session, list_id, text)
        text.flush()
        spool.seek(0)
    except BaseException:
        text.close()
        raise
    headers = {"Content-Disposition": f'attachment; filename="target-list-{list_id}.csv"'}
    return Response(_chunks(text.detach()), mimetype="text/csv", headers=headers)


# --- helpers ----------------------------------------------------------------------------------


def _builder(
    segment_id: int | None,
    name: str,
    description: str,
    definition: str | None,
    error: DomainError | None = None,
) -> ResponseReturnValue:
    problems = [] if error is None else error.problems
    initial = {
        "segmentId": segment_id,
        "definition": definition,
        "problems": [p.as_dict() for p in problems],
    }
    page = render_template(
        "segment_edit.html",
        segment_id=segment_id,
        name=name,
        description=description,
        initial=initial,
        error=error,
        can_edit=_can_edit(),
    )
    return page, 200 if error is None else error.status


def _target_lists_page(
    values: dict[str, Any], problems: list[Problem], status: int
) -> ResponseReturnValue:
    with transaction(current_runtime().sessions) as session:
        lists = list_target_lists(session)
        segment_rows = list_segments(session)
    page = render_template(
        "target_lists.html",
        lists=lists,
        segments=segment_rows,
        sort_choices=SORT_CHOICES,
        values=values,
        problems=problems,
        can_edit=_can_edit(),
    )
    return page, status


def _segment_form() -> tuple[str, str, str]:
    form = request.form
    return (
        form.get("name", "").strip(),
        form.get("description", "").strip(),
        form.get("definition", ""),
    )


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInput(
            "the segment definition is not JSON", [Problem("definition", f"not valid JSON: {exc}")]
        ) from None


def _form_int(key: str) -> int | None:
    raw = request.form.get(key, "").strip().replace(",", "")
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(
            "the form has a problem", [Problem(key, "enter a whole number")]
        ) from None


def _snapshot_values() -> dict[str, Any]:
    form = request.form
    return {
        "segment_id": form.get("segment_id", type=int),
        "name": form.get("name", ""),
        "sort_by": form.get("sort_by", ""),
        "descending": form.get("descending") == "on",
        "limit": form.get("limit", ""),
        "dedupe_by": form.get("dedupe_by", ""),
    }


def _uploaded_text() -> str:
    upload = request.files.get("csv_file")
    data = upload.read() if upload is not None and upload.filename else b""
    if not data:
        data = request.form.get("csv_text", "").encode()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            "the file is not UTF-8 text", [Problem("csv", "save the file as UTF-8 CSV")]
        ) from None


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := spool.read(CHUNK_BYTES):
            yield chunk
    finally:
        spool.close()


def _can_edit() -> bool:
    user = current_user()
    return user is not None and user.role in EDITORS


def _user_email() -> str | None:
    user = current_user()
    return None if user is None else user.email


def register(blueprint: Blueprint) -> None:
    """Add the segment and target list routes to `blueprint`."""
    one = f"<int(max={MAX_ID}):segment_id>"
    blueprint.add_url_rule("/segments", "segments", segments)
    blueprint.add_url_rule("/segments/new", "new_segment", new_segment, methods=["GET"])
    blueprint.add_url_rule("/segments/new", "save_new_segment", save_new_segment, methods=["POST"])
    blueprint.add_url_rule("/segments/catalogue", "segment_catalogue", segment_catalogue)
    blueprint.add_url_rule("/segments/preview", "segment_preview", preview, methods=["POST"])
    blueprint.add_url_rule(f"/segments/{one}", "segment", segment, methods=["GET"])
    blueprint.add_url_rule(f"/segments/{one}", "save_segment", save_segment, methods=["POST"])
    blueprint.add_url_rule(
        f"/segments/{one}/delete", "delete_segment", remove_segment, methods=["POST"]
    )
    one_list = f"<int(max={MAX_ID}):list_id>"
    blueprint.add_url_rule("/target-lists", "target_lists", target_lists)
    blueprint.add_url_rule("/target-lists/snapshot", "snapshot", snapshot, methods=["POST"])
    blueprint.add_url_rule("/target-lists/upload", "upload_list", upload_list, methods=["POST"])
    blueprint.add_url_rule(f"/target-lists/{one_list}", "target_list", target_list)
    blueprint.add_url_rule(f"/target-lists/{one_list}/members.csv", "download_list", download_list)
