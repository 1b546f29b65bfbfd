import pytest

from bot.config import ConfigError, load_settings
from bot.routing import Destination, Routing
from handlers.incident_models import Category


def load(tmp_path, toml: str | None, slt_channel: str = "CSLT") -> Routing:
    overrides = {"STAFFBOT_SLT_CHANNEL": slt_channel}
    if toml is not None:
        path = tmp_path / "routing.toml"
        path.write_text(toml, encoding="utf-8")
        overrides["STAFFBOT_ROUTING"] = path
    return Routing.load(load_settings(**overrides))


def test_the_shipped_file_sends_everything_to_the_slt_channel(tmp_path):
    routing = load(tmp_path, None)
    assert {tuple(routing.destinations(c)) for c in Category} == {(Destination(platform="slack", id="CSLT"),)}
    assert routing.dsl == []


def test_categories_dsl_and_prefixed_slt_channel(tmp_path):
    routing = load(
        tmp_path,
        'dsl = ["slack:UDSL"]\n[categories]\ncolleague_abuse = ["slack:CHEAD", "teams:19:gov@thread.tacv2"]\n',
        slt_channel="teams:19:slt@thread.tacv2",
    )
    assert [str(d) for d in routing.destinations(Category.COLLEAGUE_ABUSE)] == [
        "slack:CHEAD",
        "teams:19:gov@thread.tacv2",
    ]
    assert [str(d) for d in routing.destinations(Category.BULLYING)] == ["teams:19:slt@thread.tacv2"]
    assert [str(d) for d in routing.dsl] == ["slack:UDSL"]


def test_a_bare_teams_channel_id_is_taken_for_teams_and_drafting_channels_split_by_platform():
    from bot.routing import drafting_channels

    settings = load_settings(STAFFBOT_DRAFTING_CHANNELS="C0DRAFTS, 19:drafts@thread.tacv2, slack:C0MORE, teams:19:b@thread.skype")
    assert drafting_channels(settings, "slack") == {"C0DRAFTS", "C0MORE"}
    assert drafting_channels(settings, "teams") == {"19:drafts@thread.tacv2", "19:b@thread.skype"}
    with pytest.raises(ConfigError, match="STAFFBOT_DRAFTING_CHANNELS: 'slack:' is not a destination"):
        drafting_channels(load_settings(STAFFBOT_DRAFTING_CHANNELS="slack:"), "slack")


def test_default_list_replaces_the_setting(tmp_path):
    routing = load(tmp_path, 'default = ["C0DEFAULT"]\n', slt_channel="")
    assert [str(d) for d in routing.destinations(Category.OTHER)] == ["slack:C0DEFAULT"]


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ("[categories]\ngossip = ['C1']\n", "categories.gossip"),
        ("dls = ['U1']\n", "dls: Extra inputs are not permitted"),
        ("dsl = ['slack:']\n", "is not a destination"),
        ("dsl = 'U1'\n", "dsl"),
        ("dsl = [\n", "not valid TOML"),
    ],
)
def test_a_bad_file_is_a_config_error_naming_file_and_problem(tmp_path, toml, problem):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, toml)
    assert "routing.toml" in str(info.value)
    assert problem in str(info.value)


def test_no_destination_at_all_is_refused_at_startup(tmp_path):
    with pytest.raises(ConfigError, match="no destination for .*set STAFFBOT_SLT_CHANNEL"):
        load(tmp_path, "[categories]\nbullying = ['C1']\n", slt_channel="")


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="STAFFBOT_ROUTING: cannot read"):
        Routing.load(load_settings(STAFFBOT_ROUTING=tmp_path / "nope.toml", STAFFBOT_SLT_CHANNEL="C"))


def test_a_question_for_the_policy_owner_with_no_default_destination_is_logged_not_lost_silently(tmp_path, caplog):
    from bot.services import Services
    from handlers.models import Reply

    every_category = "[categories]\n" + "".join(f'{c.value} = ["slack:C{n}"]\n' for n, c in enumerate(Category))
    path = tmp_path / "routing.toml"
    path.write_text(every_category, encoding="utf-8")
    services = Services(load_settings(STAFFBOT_DB=tmp_path / "staffbot.db", STAFFBOT_ROUTING=path))
    try:
        outbox = services.outbox
        services.notify_owner(7, Reply(kind="not_covered", text="Not covered: what's for lunch?"))
        assert "question 7 passed to the policy owner, but neither the routing file's default" in caplog.text
        assert outbox.store.db["outbox"].count == 0
    finally:
        services.close()
