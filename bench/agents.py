"""User agents for the roll-up benchmark, as influencer traffic has them: most distinct, a long tail.

A visitor of an influencer's link mostly taps it inside an app: Instagram, TikTok, Facebook and
the like open it in their in-app browser, whose user agent carries the app's version, build
number, device model, locale and screen, so nearly every visitor's is new to the worker. The
rest use a browser, whose user agents repeat more (Chrome's reduced user agent says only its
major version). Each template below is a real user agent of its kind (the shapes of the
publicly documented user agents of these apps and browsers, 2024), its versions, devices and
locales drawn at random. Bots are a long tail too: crawlers, previews, AI agents, monitors,
HTTP clients and headless browsers with versions, and one brand's own browser checks that the
brand excludes with its own pattern (BRAND_EXCLUDE).
"""

from __future__ import annotations

import random
from collections.abc import Callable

BRAND_EXCLUDE = "AcmeQA/"  # the bench brand's own pattern: its synthetic checks are never clicks

IPHONES = ("iPhone12,1", "iPhone13,2", "iPhone14,2", "iPhone14,5", "iPhone14,7", "iPhone15,2", "iPhone15,3",
           "iPhone15,4", "iPhone16,1", "iPhone16,2", "iPhone17,1", "iPhone17,3")  # fmt: skip
IOS = ("16_7_8", "16_7_10", "17_0", "17_1_2", "17_2_1", "17_3_1", "17_4", "17_4_1", "17_5", "17_5_1", "17_6_1",
       "18_0", "18_0_1", "18_1", "18_1_1", "18_2")  # fmt: skip
ANDROID = (  # (maker, model, codename, chip)
    ("samsung", "SM-S918B", "dm3q", "qcom"), ("samsung", "SM-S911B", "dm1q", "qcom"),
    ("samsung", "SM-A546B", "a54x", "s5e8835"), ("samsung", "SM-A536B", "a53x", "s5e8825"),
    ("samsung", "SM-G991B", "o1s", "exynos2100"), ("samsung", "SM-A145R", "a14", "mt6769"),
    ("Google/google", "Pixel 7", "panther", "panther"), ("Google/google", "Pixel 8", "shiba", "shiba"),
    ("Google/google", "Pixel 8 Pro", "husky", "husky"), ("Google/google", "Pixel 6a", "bluejay", "bluejay"),
    ("Xiaomi/Redmi", "23049PCD8G", "sea", "mt6789"), ("Xiaomi/Redmi", "Redmi Note 11", "spes", "qcom"),
    ("OnePlus", "CPH2581", "OP5913L1", "qcom"), ("motorola", "moto g(30)", "caprip", "qcom"),
    ("OPPO", "CPH2591", "OP5A0BL1", "mt6833"), ("vivo", "V2250", "PD2250", "qcom"),
)  # fmt: skip
BUILDS = ("UP1A.231005.007", "TP1A.220624.014", "AP1A.240505.005", "UKQ1.230804.001", "TQ3A.230901.001",
          "AP2A.240805.005", "SP1A.210812.016", "UQ1A.240205.004")  # fmt: skip
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "pt_BR", "it_IT", "en_CA", "en_AU", "nl_NL", "es_MX")
SCREENS = ("1170x2532", "1179x2556", "1290x2796", "1284x2778", "828x1792", "1080x2340", "1080x2400", "1440x3120")


def _chrome(rng: random.Random) -> str:
    return f"{rng.randint(118, 131)}.0.{rng.randint(6000, 6800)}.{rng.randint(30, 210)}"


def _android(rng: random.Random) -> tuple[str, tuple[str, str, str, str], str]:
    version = rng.choice(("11", "12", "13", "14", "14", "15"))
    return version, rng.choice(ANDROID), rng.choice(BUILDS)


def _ios(rng: random.Random) -> str:
    return rng.choice(IOS)


def _webkit_ios(rng: random.Random, device: str = "iPhone") -> str:
    os_ = _ios(rng)
    cpu = "CPU iPhone OS" if device == "iPhone" else "CPU OS"
    return f"Mozilla/5.0 ({device}; {cpu} {os_} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"


def _webview(rng: random.Random) -> tuple[str, tuple[str, str, str, str], str]:
    version, device, build = _android(rng)
    ua = (
        f"Mozilla/5.0 (Linux; Android {version}; {device[1]} Build/{build}; wv) AppleWebKit/537.36 "
        f"(KHTML, like Gecko) Version/4.0 Chrome/{_chrome(rng)} Mobile Safari/537.36"
    )
    return ua, device, version


def instagram_ios(rng: random.Random) -> str:
    os_ = _ios(rng)
    return (
        f"Mozilla/5.0 (iPhone; CPU iPhone OS {os_} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        f"Mobile/15E148 Instagram {rng.randint(300, 350)}.0.{rng.randint(0, 4)}.{rng.randint(10, 40)}."
        f"{rng.randint(80, 130)} ({rng.choice(IPHONES)}; iOS {os_}; {rng.choice(LOCALES)}; en; scale=3.00; "
        f"{rng.choice(SCREENS)}; {rng.randint(500_000_000, 650_000_000)})"
    )


def instagram_android(rng: random.Random) -> str:
    ua, (maker, model, codename, chip), version = _webview(rng)
    api = {"11": 30, "12": 31, "13": 33, "14": 34, "15": 35}[version]
    return (
        f"{ua} Instagram {rng.randint(300, 350)}.0.0.{rng.randint(10, 50)}.{rng.randint(80, 130)} Android "
        f"({api}/{version}; {rng.choice((420, 440, 480, 560))}dpi; {rng.choice(SCREENS)}; {maker}; {model}; "
        f"{codename}; {chip}; {rng.choice(LOCALES)}; {rng.randint(500_000_000, 650_000_000)})"
    )


def tiktok(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return (
            f"{_webkit_ios(rng)} Mobile/15E148 musical_ly_{rng.randint(32, 37)}.{rng.randint(0, 9)}.0 JsSdk/2.0 "
            f"NetType/{rng.choice(('WIFI', '4G', '5G'))} Channel/App Store ByteLocale/en Region/"
            f"{rng.choice(('US', 'GB', 'DE', 'FR', 'BR'))} ByteFullLocale/en WKWebView/1 BytedanceWebview/d8a21c6"
        )
    ua, _, _ = _webview(rng)
    v = f"{rng.randint(32, 37)}{rng.randint(0, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}"
    return (
        f"{ua} trill_{v} JsSdk/1.0 NetType/{rng.choice(('WIFI', '4G', '5G'))} Channel/googleplay AppName/trill "
        f"app_version/{v[:2]}.{v[2]}.{v[3]} ByteLocale/en ByteFullLocale/en Region/{rng.choice(('US', 'GB', 'DE'))} "
        f"BytedanceWebview/d8a21c6"
    )


def facebook(rng: random.Random) -> str:
    fbav = f"{rng.randint(440, 490)}.0.0.{rng.randint(20, 60)}.{rng.randint(100, 120)}"
    if rng.random() < 0.5:
        os_ = _ios(rng)
        return (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {os_} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"Mobile/15E148 [FBAN/FBIOS;FBAV/{fbav};FBBV/{rng.randint(550_000_000, 650_000_000)};"
            f"FBDV/{rng.choice(IPHONES)};FBMD/iPhone;FBSN/iOS;FBSV/{os_.replace('_', '.')};FBSS/3;FBCR/;FBID/phone;"
            f"FBLC/{rng.choice(LOCALES)};FBOP/5]"
        )
    ua, _, _ = _webview(rng)
    return f"{ua} [FB_IAB/FB4A;FBAV/{fbav};]"


def other_app(rng: random.Random) -> str:
    pick = rng.randrange(5)
    if pick == 0:
        return f"{_webkit_ios(rng)} Mobile/15E148 Snapchat/{rng.randint(12, 13)}.{rng.randint(0, 99)}.0.{rng.randint(10, 60)} (like Safari/8617.1.17.10.9, panda)"  # noqa: E501
    if pick == 1:
        return f"{_webkit_ios(rng)} Mobile/15E148 [Pinterest/iOS]"
    if pick == 2:
        return f"{_webkit_ios(rng)} Mobile/15E148 Twitter for iPhone/{rng.randint(10, 11)}.{rng.randint(0, 80)}"
    if pick == 3:
        return f"{_webview(rng)[0]} YouTube/{rng.randint(18, 19)}.{rng.randint(1, 50)}.{rng.randint(30, 40)}"
    return f"{_webkit_ios(rng)} GSA/{rng.randint(300, 340)}.0.{rng.randint(600_000_000, 699_999_999)} Mobile/15E148 Safari/604.1"  # noqa: E501


def ios_safari(rng: random.Random) -> str:
    device = "iPad" if rng.random() < 0.1 else "iPhone"
    os_ = _ios(rng)
    cpu = "CPU iPhone OS" if device == "iPhone" else "CPU OS"
    version = ".".join(os_.split("_")[:2])
    return (
        f"Mozilla/5.0 ({device}; {cpu} {os_} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        f"Version/{version} Mobile/15E148 Safari/604.1"
    )


def ios_chrome(rng: random.Random) -> str:
    return f"{_webkit_ios(rng)} CriOS/{_chrome(rng)} Mobile/15E148 Safari/604.1"


DESKTOPS = ("Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 10_15_7", "X11; Linux x86_64",
            "X11; CrOS x86_64 14541.0.0")  # fmt: skip


def desktop_chrome(rng: random.Random) -> str:  # reduced: only the major version varies
    return (
        f"Mozilla/5.0 ({rng.choice(DESKTOPS)}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{rng.randint(118, 131)}.0.0.0 Safari/537.36"
    )


def edge(rng: random.Random) -> str:
    major = rng.randint(118, 131)
    return (
        f"Mozilla/5.0 ({rng.choice(DESKTOPS[:2])}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 "
        f"Safari/537.36 Edg/{major}.0.{rng.randint(2000, 2900)}.{rng.randint(30, 120)}"
    )


def firefox(rng: random.Random) -> str:
    v = rng.randint(115, 133)
    if rng.random() < 0.3:
        return f"Mozilla/5.0 (Android {rng.choice(('13', '14', '15'))}; Mobile; rv:{v}.0) Gecko/{v}.0 Firefox/{v}.0"
    os_ = rng.choice(("Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 10.15", "X11; Ubuntu; Linux x86_64"))
    return f"Mozilla/5.0 ({os_}; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"


def mac_safari(rng: random.Random) -> str:
    version = rng.choice(("16.6", "17.0", "17.1", "17.2.1", "17.3", "17.4.1", "17.5", "17.6", "18.0", "18.1"))
    return (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        f"Version/{version} Safari/605.1.15"
    )


def android_chrome(rng: random.Random) -> str:
    if rng.random() < 0.6:  # reduced
        return (
            f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{rng.randint(118, 131)}.0.0.0 Mobile Safari/537.36"
        )
    version, device, _ = _android(rng)
    return (
        f"Mozilla/5.0 (Linux; Android {version}; {device[1]}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{_chrome(rng)} Mobile Safari/537.36"
    )


def samsung(rng: random.Random) -> str:
    version, device, _ = _android(rng)
    return (
        f"Mozilla/5.0 (Linux; Android {version}; SAMSUNG {device[1]}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"SamsungBrowser/{rng.randint(22, 27)}.0 Chrome/{rng.randint(115, 130)}.0.0.0 Mobile Safari/537.36"
    )


# (make one, weight): influencer traffic, most of it inside the apps whose posts link out.
HUMANS: tuple[tuple[Callable[[random.Random], str], float], ...] = (
    (instagram_ios, 16), (instagram_android, 10), (tiktok, 12), (facebook, 8), (other_app, 6),
    (ios_safari, 14), (ios_chrome, 2), (desktop_chrome, 12), (edge, 3), (firefox, 3), (mac_safari, 3),
    (android_chrome, 6), (samsung, 3),
)  # fmt: skip


def _versioned(fmt: str, rng: random.Random) -> str:
    return fmt.format(chrome=_chrome(rng), a=rng.randint(0, 9), b=rng.randint(0, 30), c=rng.randint(1, 99))


BOTS = (  # (format, weight): {chrome}, {a}, {b}, {c} drawn per bot visitor
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", 20),
    ("Twitterbot/1.0", 8),
    ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/{chrome} Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 8),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 3),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", 4),
    ("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", 4),
    ("LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", 3),
    ("TelegramBot (like TwitterBot)", 3),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.{a}; +https://openai.com/gptbot)", 3),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", 2),
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", 3),
    ("Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", 2),
    ("curl/8.{a}.{b}", 4),
    ("python-requests/2.{b}.{a}", 4),
    ("Go-http-client/1.1", 2),
    ("Wget/1.21.{a}", 1),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/{chrome} "
     "Safari/537.36", 3),
    ("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", 2),
    ("Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", 1),
    ("", 2),  # no user agent at all
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
     "Safari/537.36 " + BRAND_EXCLUDE + "{a}.{c}", 4),  # the brand's own checks: a browser, excluded by pattern
)  # fmt: skip


def humans(rng: random.Random, n: int) -> list[str]:
    """n human visitors' user agents."""
    makers, weights = zip(*HUMANS, strict=True)
    return [make(rng) for make in rng.choices(makers, weights, k=n)]


def bots(rng: random.Random, n: int) -> list[str]:
    """n bot visitors' user agents."""
    formats, weights = zip(*BOTS, strict=True)
    return [_versioned(fmt, rng) for fmt in rng.choices(formats, weights, k=n)]
