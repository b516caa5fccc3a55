"""The user-agent classifier: in-app browsers are never bots, the families issue 11 found missed are
caught, and the public-source corpus (tests/data/useragents/README.md) meets the goals.

Every string below is quoted from a public source: the corpus (Matomo device-detector's fixtures,
crawler-user-agents, intoli user-agents, fake-useragent), or the page named next to it.
"""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest

from tracker.useragent import FAMILIES, Agent, bot_family, classify

CORPUS = Path(__file__).parent / "data" / "useragents" / "corpus.tsv.gz"

IN_APP = [
    "Mozilla/5.0 (Linux; Android 10; BV5500Plus Build/QP1A.190711.020; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/87.0.4280.141 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/300.2.0.58.129;]",
    "FBAN/FBIOS;FBAV/182.0.0.42.80;FBBV/118457561;FBDV/iPhone10,3;FBMD/iPhone;FBSN/iOS;FBSV/11.4.1;FBSS/3;FBCR/Sprint;"
    "FBID/phone;FBLC/en_US;FBOP/5;FBRV/0;FBIA/FBIOS",
    "Dalvik/2.1.0 (Linux; U; Android 15; Pixel 8 Pro Build/AP3A.241005.015) [FBAN/Orca-Android;FBAV/482.0.0.71.108;"
    "FBPN/com.facebook.orca;FBLC/de_DE;FBBV/658301643;FBCR/Telekom.de;FBMF/Google;FBBD/google;FBDV/Pixel 8 Pro;"
    "FBSV/15;FBCA/arm64-v8a:null;FBDM/{density=2.625,width=1008,height=2244};FB_FW/1;]",
    "Instagram 5.0.2 (iPhone5,1; iPhone OS 7_0_4; en_US; en) AppleWebKit/420+",
    "Mozilla/5.0 (Linux; Android 11; 6025H_EEA Build/RP1A.200720.011; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/91.0.4472.120 Mobile Safari/537.36 trill_2022003030 JsSdk/1.0 NetType/WIFI Channel/googleplay "
    "AppName/musical_ly app_version/20.3.3 ByteLocale/en ByteFullLocale/en Region/GB",
    "Mozilla/5.0 (Linux; Android 10; SM-G973F Build/QQ3A.200805.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/85.0.4183.101 Mobile Safari/537.36 trill_2021806060 JsSdk/1.0 NetType/WIFI Channel/googleplay "
    "AppName/musical_ly app_version/18.6.6 ByteLocale/fr ByteFullLocale/fr Region/FR",  # isbot's fixtures/browsers.yml
]
REAL_APPS_AND_DEVICES = [
    "Mozilla/5.0 (Linux; Android 7.0; C Bot Tab 100) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/74.0.3729.157 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; Spider 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "AndroidDownloadManager/10 (Linux; U; Android 10; TECNO KD7 Build/QP1A.190711.020)",
    "AirPodcasts/4022.700.8 CFNetwork/1410.0.3 Darwin/22.6.0",
    "com.google.android.apps.searchlite/101032 (Linux; U; Android 8.1.0; ru_RU; M580; Build/O11019; "
    "Cronet/74.0.3729.182)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
]
# An app's or a device's own user agent: bare `name/1.2` or a URL, which isbot's shape patterns take
# for bots, but naming a device, an OS or a kind of media app (the corpus's dev half, Matomo's fixtures)
APPS_BY_SHAPE = [
    "AntennaPod/2.4.0",
    "TuneIn Radio",
    "PodcastGuru 2.0.3-beta4",
    "Garmin Forerunner 245 Music/11.60",
    "Watch1,1/4.3.2 (15U70)",
    "iPhone12",
    "Android 4.1.1;AppleWebKit/534.31;Build/JRO03H;RC9730C Build/JRO03H",
    "Turtlecast/0.7.7; (Android 13); +https://www.turtlecast.app",
    "HbbTV/1.4.1 (;Panasonic;VIERA 2019;d.704;4b01-0003 0040-0000;) PanasonicSDK/2017",
    "Mozilla/5.0(SmartHub;SMART-TV;U;Linux/SmartTV;Maple2012).",
    "opera/9.80, M350/0.1.46_flash (Sagemcom_Broadband_SAS,DIW350_TP,Wired)",
    "Mozilla/5.0 (compatible; MSIE 9.0; Windows Phone OS 7.5; Trident/5.0; IEMobile/9.0; HTC; Radar 4G)",
    "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; WOW64; Trident/5.0; chromeframe/19.0.1084.52)",
    # Internet Explorer on a machine with Office 2007: "MSOffice 12" alone is not Office fetching
    "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1; WOW64; Trident/7.0; SLCC2; .NET CLR 2.0.50727; .NET CLR "
    "3.5.30729; .NET CLR 3.0.30729; Media Center PC 6.0; .NET4.0C; .NET4.0E; MAFS; InfoPath.2; "
    "OfficeLiveConnector.1.5; OfficeLivePatch.1.3; MSOffice 12)",
    # iOS's in-app Safari (SFSafariViewController): a person reading the page inside an app
    "SafariViewService/8614.1.25.0.31 CFNetwork/1390 Darwin/22.0.0",
]
# The same shapes naming no device, OS or media app stay bots, and so do libraries fetching for a program
BOTS_BY_SHAPE = [
    "reqwest/0.9.19",
    "Prometheus/2.40.5",
    "gobuster/3.1.0",
    "Sectigo DCV",
    "Mozilla/5.0 (compatible; CMSLookup/1.0)",
    "Darwin/25.6.0 (Watch7,13; watchOS 26.6) MatomoTrackerSDK/7.8.0",  # an app's analytics beacon
    "AppleCoreMedia/1.0.0.12B466 (Apple TV; U; CPU OS 8_1_3 like Mac OS X; en_us)",  # a player's media fetch
]
# Apps Matomo device-detector names (its mobile apps, media players, PIM clients): isbot's bare-name and
# URL patterns take them for bots (the corpus's dev half)
MATOMO_APPS = [
    "Airr (airr.io)",
    "Microsoft-CryptoAPI/10.0",  # Matomo: a mobile app, "Windows CryptoAPI"
    "Megaphone.fm",
    "TREBLE/2.1",
    "Bullhorn/1.0 (+http://bullhorn.fm/)",
    "VictorReader_4-4-2",
]
# Feed readers, libraries and bots Matomo names whose user agents read like an app's (the dev half)
MATOMO_AUTOMATED = [
    ("Breaker/5.0.20 (iPhone; iOS 16.0.3; Scale/3.00)", "feed"),
    ("gPodder/3.5.2 (+http://gpodder.org/)", "feed"),
    ("Akregator/4.12.3; syndication SUSE", "feed"),
    ("KaiOS Downloader", "http-client"),
    ("Castopod/1.0", "http-client"),
]
BOTS = [  # (user agent, family)
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Perplexity-User/1.0; "
     "+https://perplexity.ai/perplexity-user)", "ai-agent"),
    ("Mozilla/5.0 (compatible; Amzn-User; +https://developer.amazon.com/)", "ai-agent"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/132.0.0.0 "
     "Safari/537.36; Manus-User/1.0", "ai-agent"),
    ("Google-NotebookLM", "ai-agent"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36; "
     "Devin/1.0; +devin.ai", "ai-agent"),
    ("Mozilla/5.0 (compatible; NovaAct/1.0; +https://www.novaact.com)", "ai-agent"),
    ("Datadog Agent/5.10.1", "monitor"),
    ("Catchpoint", "monitor"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.6998.35 Safari/537.36 "
     "(Checkly, https://www.checklyhq.com)", "monitor"),
    ("Blackbox Exporter/", "monitor"),  # a public access log quoting Prometheus' blackbox_exporter
    ("${jndi:ldap://${hostName}.useragent.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.oast.fun}", "scanner"),
    ("Mozilla/5.0 (compatible; OpenGraph.io/1.1; +https://opengraph.io/ AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/51.0.2704.103 Safari/537.36", "preview"),
    ("Mozilla/5.0 (compatible; Ezgif/1.0; +https://ezgif.com/about)", "preview"),
    ("Feedly/1.0 (+http://www.feedly.com/fetcher.html; like FeedFetcher-Google)", "feed"),
    ("Mozilla/5.0 (compatible; archive.org_bot +http://archive.org/details/archive.org_bot)", "archiver"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko; compatible; BuiltWith/1.0; "
     "+http://builtwith.com/biup) Chrome/74.0.3729.131 Safari/537.36", "seo"),
    ("Mozilla/5.0 (compatible; SeolytBot/1.0.1;  https://seolyt.com)", "seo"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
     "Safari/537.36 Playwright/1.40.0", "headless"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
     "Safari/537.36; Selenium", "headless"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/102.0.5005.182 "
     "Safari/537.36 FontRadar", "headless"),
    ("k6/0.31.1 (https://k6.io/)", "http-client"),
    ("SFDC-Callout/49.0", "http-client"),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "crawler"),
]  # fmt: skip
OFFICE = [
    "Microsoft Office Excel 2014 (16.0.10730) Windows NT 10.0",  # superuser.com/questions/1359127
    "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 10.0; WOW64; Trident/7.0; .NET4.0C; .NET4.0E; .NET CLR 2.0.50727; "
    ".NET CLR 3.0.30729; .NET CLR 3.5.30729; ms-office)",  # the same page: Excel's second, hidden request
    "Microsoft Office Excel/16.103.1109 (Mac OS/26.3.1; Desktop; en-US; AppStore; Apple/Mac16,10)",
]


@pytest.mark.parametrize("ua", IN_APP)
def test_in_app_browsers_are_never_bots(ua):
    assert classify(ua).family == ""


@pytest.mark.parametrize("ua", REAL_APPS_AND_DEVICES)
def test_download_managers_bot_named_devices_podcast_and_cronet_apps_are_visitors(ua):
    assert classify(ua).bot is False


@pytest.mark.parametrize("ua", APPS_BY_SHAPE)
def test_apps_and_devices_naming_a_device_os_or_media_app_are_visitors_whatever_their_shape(ua):
    assert bot_family(ua) == ""


@pytest.mark.parametrize("ua", BOTS_BY_SHAPE)
def test_bare_names_naming_no_device_and_libraries_fetching_for_a_program_are_bots(ua):
    assert bot_family(ua) != ""


@pytest.mark.parametrize("ua", MATOMO_APPS)
def test_apps_matomo_names_are_visitors_though_isbots_bare_name_patterns_match_them(ua):
    assert bot_family(ua) == ""


@pytest.mark.parametrize(("ua", "family"), MATOMO_AUTOMATED)
def test_feed_readers_libraries_and_bots_matomo_names_are_bots_though_they_read_like_apps(ua, family):
    assert bot_family(ua) == family


@pytest.mark.parametrize(("ua", "family"), BOTS)
def test_bots_the_issue_found_missed_are_caught_with_their_family(ua, family):
    agent = classify(ua)
    assert (agent.bot, agent.family) == (True, family)


@pytest.mark.parametrize("ua", OFFICE)
def test_office_apps_fetching_a_link_before_the_browser_are_office_prefetch(ua):
    assert classify(ua).family == "office-prefetch"


def test_an_empty_user_agent_is_a_bot_of_family_empty():
    assert classify("  ") == Agent(bot=True, browser="Other", os="Other", device="Other", family="empty")


def test_a_bot_token_past_the_redirects_old_512_character_cut_is_still_seen():
    ua = IN_APP[0] + " " + "x" * 600 + " Googlebot/2.1"
    assert classify(ua).bot is True


def test_browser_os_and_device_come_with_the_flag():
    agent = classify(REAL_APPS_AND_DEVICES[-1])
    assert (agent.bot, agent.browser, agent.os, agent.family) == (False, "Chrome", "Windows", "")


def test_every_family_returned_is_documented():
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        next(f)
        uas = [line.rstrip("\n").split("\t")[4] for line in f][::20]
    assert {bot_family(ua) for ua in uas} - {""} <= set(FAMILIES)


def test_held_out_corpus_meets_the_goals():
    """Measured on the held-out half: strings never read to write the allow-list or our patterns. Goals:
    >= 99% of bots, <= 0.1% of real visitors (Office aside), no in-app browser; apps' own user agents
    are 1.2% flagged. Matomo's fixtures are written from the Matomo regexes the classifier applies, so the
    other sources (crawler-user-agents' bots, the browser lists) are held to the goals apart."""
    total, flagged = Counter(), Counter()
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        next(f)
        for line in f:
            split, label, category, source, ua = line.rstrip("\n").split("\t")
            if split == "held-out":
                for key in ((label, category, "all"), (label, category, "matomo" if source == "matomo" else "other")):
                    total[key] += 1
                    flagged[key] += bool(bot_family(ua))

    def share(label: str, of: str) -> float:
        keys = [k for k in total if k[0] == label and k[1] != "office" and k[2] == of]
        return sum(flagged[k] for k in keys) / sum(total[k] for k in keys)

    assert share("bot", "all") >= 0.99  # the goal
    assert share("human", "all") <= 0.001  # the goal
    assert share("bot", "other") >= 0.99
    assert share("human", "other") <= 0.001
    assert flagged["human", "in-app", "all"] == 0  # the goal
    assert flagged["human", "app", "all"] / total["human", "app", "all"] <= 0.012
    assert flagged["human", "office", "all"] == total["human", "office", "all"]
