"""Model text reads as the model wrote it, escaped exactly once, on every page it reaches.

A model behind an escaping chat template (llama-cpp-python's chatml-function-calling renders the
prompt with Jinja autoescape) sees ``&#34;`` and ``&#39;`` in its prompt and writes them back:
``&#34;p&#34;`` is how it writes ``"p"``. The service reads model text that way (its answers and
tool arguments go through ``clean_model_text``, Python's ``html.unescape``); the round view reads
the streamed text the same way, so the Answerer's lane, its tool calls and the answer agree. The
trace pages are the record of the exchange: they show the output as the model sent it, once
escaped. Markup is always text (``<b>x</b>`` stays five characters and two tags' worth of text).
"""

from __future__ import annotations

import html
import json

from tests.web.conftest import GameSite, screenshot, wait_for_options
from tests.web.test_play_page import start_game

# What the model sends: literal quotes, markup, an ampersand and an apostrophe, and the same
# characters as character references, as an escaping chat template makes a model write them.
MODEL_TEXT = 'He said &#34;p&#34; and "p": <b>x</b> &amp; it\'s right, isn&#39;t it?'
SHOWN = 'He said "p" and "p": <b>x</b> & it\'s right, isn\'t it?'
assert html.unescape(MODEL_TEXT) == SHOWN  # what the service records as the answer
# The player's own question is not model text: it is shown exactly as typed, entities and all.
QUESTION = 'Is "p" <b>x</b> &amp; it\'s, or &#34;q&#34;?'


def column(page, pipeline: str):
    return page.locator(f'.arena-col[data-pipeline="{pipeline}"]')


def shows_no_markup(page) -> None:
    """No element came from model or player text, and no reference was escaped again."""
    assert page.locator("main b:has-text('x'), main img, main script").count() == 0
    text = page.locator("main").inner_text()
    assert "&amp;amp;" not in text and "&amp;#" not in text


def modelled(site: GameSite):
    """Make the scripted model write MODEL_TEXT as free text and in every string argument."""
    site.pacer.answer = site.pacer.strings = MODEL_TEXT


def plain(site: GameSite) -> None:
    site.pacer.answer = site.pacer.strings = None


def test_the_arena_shows_model_text_as_the_model_wrote_it(game_site: GameSite, open_page):
    site, page = game_site, open_page()
    page.goto(site.base_url + "/arena")
    wait_for_options(page)
    page.locator(".custom-q summary").click()
    page.fill("textarea[name=question]", QUESTION)
    page.fill("input[name=reference_answer]", '"p"')
    modelled(site)
    try:
        page.click("#setup button[type=submit]")
        page.wait_for_selector("#arena-summary:not([hidden])", timeout=30_000)
    finally:
        plain(site)

    chat, agents = column(page, "chat"), column(page, "agents")
    for col in (chat, agents):
        assert col.locator(".round").get_attribute("data-state") == "done"
        assert col.locator(".q-text").inner_text() == QUESTION
        assert col.locator(".a-text").inner_text() == SHOWN
    # The chat pipeline's Answerer streams free text: the lane reads like the answer.
    assert chat.locator('.lane[data-role="Answerer"] .say').all_inner_texts() == [SHOWN]
    assert chat.locator(".a-text").inner_text() == SHOWN
    # The agents pipeline's Answerer answers in its handoff's arguments (streamed in 3 parts,
    # cut inside the references): the arguments as the model wrote them, references undone.
    handoff = agents.locator('.lane[data-role="Answerer"] .call-args')
    assert handoff.all_inner_texts() == [html.unescape(json.dumps({"answer": MODEL_TEXT}))]
    assert '"p"' in handoff.inner_text() and "&#34;" not in handoff.inner_text()
    # The Judge's explanation (an argument of submit_verdict) and the verdict the service made.
    judge_args = chat.locator('.lane[data-role="Judge"] .call-args').all_inner_texts()
    assert html.unescape(json.dumps({"correct": True, "explanation": MODEL_TEXT})) in judge_args
    for pipeline in ("agents", "chat"):
        info = column(page, pipeline).locator(".round").evaluate("el => el._view.info")
        stored = site.api(f"/api/rounds/{info['round_id']}")
        assert stored["answer"] == SHOWN
        why = column(page, pipeline).locator(".verdict-why").inner_text()
        assert why == stored["verdict"]["explanation"]
        cell = page.locator(
            f'#arena-summary tr[data-metric="answer"] td[data-pipeline="{pipeline}"]'
        )
        assert cell.inner_text() == f"“{SHOWN}”"
    shows_no_markup(page)
    screenshot(page, "arena-model-text")

    # The trace pages keep the record: the Answerer's output exactly as the model sent it.
    page.click('.arena-col[data-pipeline="chat"] .trace-link')
    page.wait_for_selector(".wf-row")
    rows = page.locator(".wf-row")
    labels = page.locator(".wf-row .wf-label").all_inner_texts()
    answerer = labels.index("Answerer")
    generation = next(i for i in range(answerer + 1, len(labels)) if labels[i] == "scripted-model")
    rows.nth(generation).click()
    output = page.locator("#details .msg-assistant .msg-text").last
    assert output.inner_text() == MODEL_TEXT
    assert page.locator("#details b:has-text('x'), main img").count() == 0
    assert "&amp;amp;" not in page.locator("main").inner_text()


def test_the_play_page_shows_model_text_as_the_model_wrote_it(game_site: GameSite, open_page):
    site, page = game_site, open_page()
    page.goto(site.base_url + "/play")
    modelled(site)
    try:
        start_game(page, pipeline="chat", mode="ai", rounds=1)
        page.wait_for_selector('.round[data-state="done"]', timeout=30_000)
        page.wait_for_selector("#game-rounds li[data-round]")
    finally:
        plain(site)
    lane = page.locator('.round .lane[data-role="Answerer"]')
    assert lane.locator(".say").all_inner_texts() == [SHOWN]
    assert page.locator(".round .a-text").inner_text() == SHOWN
    assert f"answer “{SHOWN}”" in page.locator("#game-rounds li[data-round]").inner_text()
    judge_args = page.locator('.round .lane[data-role="Judge"] .call-args').all_inner_texts()
    assert html.unescape(json.dumps({"correct": True, "explanation": MODEL_TEXT})) in judge_args
    shows_no_markup(page)


# Events fed straight to a round view: references cut between deltas, what the stream must not
# draw (the facts said as messages), and text that only looks like markup.
FEED = """() => {
  const box = document.createElement('div');
  box.id = 'feed';
  document.querySelector('main').appendChild(box);
  const view = new QR.RoundView(box, { title: 'Fed', pipeline: 'chat' });
  const text = (id, deltas) =>
    deltas.map((delta) => ({ type: 'TEXT_MESSAGE_CONTENT', messageId: id, delta }));
  const args = (id, deltas) =>
    deltas.map((delta) => ({ type: 'TOOL_CALL_ARGS', toolCallId: id, delta }));
  const events = [
    { type: 'RUN_STARTED', threadId: 'g', runId: 'r' },
    { type: 'STEP_STARTED', stepName: 'Answerer' },
    { type: 'TEXT_MESSAGE_START', messageId: 'm1', role: 'assistant', name: 'Answerer' },
    ...text('m1', ['He said &#3', '4;p&#', '34; &am', 'p; it&#39', ';s &notin; ',
      '<img src=x onerror="window.__pwned=1"> &#x2', '7;&', 'lt;b&gt; &amp']),
    { type: 'TEXT_MESSAGE_END', messageId: 'm1' },
    { type: 'TEXT_MESSAGE_START', messageId: 'fact_r_2', role: 'assistant', name: 'Answerer' },
    ...text('fact_r_2', ['the answer as a fact']),
    { type: 'TEXT_MESSAGE_END', messageId: 'fact_r_2' },
    { type: 'TOOL_CALL_START', toolCallId: 'c1', toolCallName: 'transfer_to_judge' },
    ...args('c1', ['{"answer": "&#3', '4;p&#34; &amp', '; it&#39;s"}']),
    { type: 'TOOL_CALL_END', toolCallId: 'c1' },
    { type: 'TOOL_CALL_START', toolCallId: 'c2', toolCallName: 'draw_question' },
    ...args('c2', ['{}']),
    { type: 'TOOL_CALL_RESULT', messageId: 'm3', toolCallId: 'c2', content: 'Is &amp; an entity?' },
    { type: 'TEXT_MESSAGE_START', messageId: 'm4', role: 'assistant', name: 'Answerer' },
    ...text('m4', ['cut off at &amp']),
    { type: 'RUN_ERROR', message: 'the model went away', code: 'model_error' },
  ];
  events.forEach((event, i) => view.handle(event, i + 1));
  const lane = box.querySelector('.lane[data-role="Answerer"]');
  return {
    says: [...lane.querySelectorAll('.say')].map((p) => p.textContent),
    args: [...lane.querySelectorAll('.call-args')].map((p) => p.textContent),
    results: [...lane.querySelectorAll('.call-result')].map((p) => p.textContent),
    elements: lane.querySelectorAll('.lane-body img, .lane-body b:not(.call-name)').length,
  };
}"""


def test_references_cut_between_deltas_are_decoded_and_facts_are_not_drawn(
    game_site: GameSite, open_page
):
    page = open_page()
    page.goto(game_site.base_url + "/arena")
    page.wait_for_function("() => Boolean(window.QR && window.QR.RoundView)")
    seen = page.evaluate(FEED)
    assert seen["says"] == [
        'He said "p" & it\'s ∉ <img src=x onerror="window.__pwned=1"> \'<b> &',
        "cut off at &",  # held back as a possible reference, shown when the run ended
    ]
    assert seen["args"] == ['{"answer": ""p" & it\'s"}', "{}"]
    assert seen["results"] == ["result Is &amp; an entity?"]  # the service's text, as it is
    assert seen["elements"] == 0
    assert page.evaluate("window.__pwned") is None
