//! Inbound mail text: the part of a reply its author wrote, without the quoted history,
//! Ferrodesk's own reply marker or the signature. Plain string handling, line by line.

/// The line Ferrodesk puts at the top of every outgoing message that can be answered.
pub const REPLY_MARKER: &str = "##- Please type your reply above this line -##";

/// The part of an email reply a person wrote: the text above the quoted history.
///
/// Line endings are normalised (`\r\n` and a lone `\r` become `\n`), then the text is cut
/// at the first line that starts the history:
///
/// - a line containing [`REPLY_MARKER`];
/// - an attribution line: `On … wrote:` (Gmail, Apple Mail, Thunderbird), `Am … schrieb …:`,
///   `Le … a écrit :`, `El … escribió:`, `Op … schreef …:` — also when wrapped over two
///   lines, as Gmail does with long names (the two lines together must hold an address);
/// - Outlook's `-----Original Message-----` (any case, three or more dashes each side);
/// - an Outlook header block: a `From:` (`*From:*`, `De :`, `Von:`, `Van:`) line followed
///   within four lines by a `Sent:` (`Date:`, `Gesendet:`, `Envoyé :`, `Enviado:`, …) line;
///   a line of ten or more underscores just above such a `From:` line (Outlook on the web)
///   goes with it;
/// - the signature separator `-- ` (exactly: dash, dash, space).
///
/// What is left then loses a trailing block of `>` lines (blank lines may separate them),
/// but only one at the very end: a quote followed by the writer's text (inline answers)
/// is kept whole.
///
/// A forwarded message (`---------- Forwarded message ---------`, Apple Mail's
/// `Begin forwarded message:`) is content: nothing from its marker down is cut, nor is it
/// lost to a signature above it (the signature alone goes). A forward below one of the
/// other cut points is quoted history, and goes with it.
///
/// Returns the reply text trimmed; when stripping would leave nothing (e.g. a message that
/// is only a quote, or a forward with no comment), returns the whole text trimmed instead.
pub fn strip_quoted(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    let forward = lines.iter().position(|line| is_forward_marker(line));
    let searched = &lines[..forward.unwrap_or(lines.len())];
    let kept: Vec<&str> = match (first_cut(searched, 0), forward) {
        // The writer's signature above the message they forward: drop only the signature.
        (Some((at, Cut::Signature)), Some(forward)) if first_cut(searched, at + 1).is_none() => {
            lines[..at]
                .iter()
                .chain(&lines[forward..])
                .copied()
                .collect()
        }
        (Some((at, _)), _) => without_trailing_quote(&lines[..at]).to_vec(),
        (None, Some(_)) => lines.clone(),
        (None, None) => without_trailing_quote(&lines).to_vec(),
    };
    let reply = kept.join("\n");
    let reply = reply.trim();
    if reply.is_empty() {
        text.trim().to_owned()
    } else {
        reply.to_owned()
    }
}

/// Why a line starts what goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// The quoted history (marker, attribution, Outlook headers).
    History,
    /// The writer's signature.
    Signature,
}

/// The first line at or after `from` that starts what goes, and why.
fn first_cut(lines: &[&str], from: usize) -> Option<(usize, Cut)> {
    (from..lines.len()).find_map(|i| cut_at(lines, i).map(|cut| (i, cut)))
}

/// Whether line `i` starts what goes.
fn cut_at(lines: &[&str], i: usize) -> Option<Cut> {
    let line = lines[i];
    if line == "-- " {
        return Some(Cut::Signature);
    }
    let history = line.contains(REPLY_MARKER)
        || is_attribution_at(lines, i)
        || is_original_message(line)
        || is_outlook_headers_at(lines, i)
        || is_outlook_web_rule_at(lines, i);
    history.then_some(Cut::History)
}

/// The words an attribution line starts with, one per language.
const ATTRIBUTION_STARTS: [&str; 5] = ["On ", "Am ", "Le ", "El ", "Op "];

/// `On … wrote:` and its localised forms, on one line.
fn is_attribution(line: &str) -> bool {
    let line = line.trim();
    // Before the colon; trimming also takes French typography's (narrow) no-break space.
    let Some(head) = line.strip_suffix(':').map(str::trim_end) else {
        return false;
    };
    let has_word = |word: &str| head.split_whitespace().any(|w| w == word);
    if line.starts_with("On ") {
        head.ends_with(" wrote")
    } else if line.starts_with("Am ") {
        has_word("schrieb")
    } else if line.starts_with("Le ") {
        head.ends_with(" a écrit")
    } else if line.starts_with("El ") {
        head.ends_with(" escribió")
    } else if line.starts_with("Op ") {
        has_word("schreef")
    } else {
        false
    }
}

/// An attribution on line `i`, or starting on it and wrapped onto the next line (Gmail
/// wraps long ones, often inside the address: `… Dana Customer <` / `dana@x> wrote:`).
fn is_attribution_at(lines: &[&str], i: usize) -> bool {
    if is_attribution(lines[i]) {
        return true;
    }
    let first = lines[i].trim();
    let Some(next) = lines.get(i + 1).map(|line| line.trim()) else {
        return false;
    };
    ATTRIBUTION_STARTS.iter().any(|start| first.starts_with(start))
        && !next.is_empty()
        && !next.starts_with('>')
        // A wrapped attribution names an address; two lines of prose that happen to start
        // with "On" and end with "wrote:" do not.
        && (first.contains('@') || next.contains('@'))
        && is_attribution(&format!("{first} {next}"))
}

/// The words between the dashes of a line like `---------- Forwarded message ---------`
/// (three or more dashes each side), or `None`.
fn between_dashes(line: &str) -> Option<&str> {
    let line = line.trim();
    let inner = line.trim_start_matches('-');
    let core = inner.trim_end_matches('-');
    (line.len() - inner.len() >= 3 && inner.len() - core.len() >= 3).then(|| core.trim())
}

/// Outlook's `-----Original Message-----`, in any case, and its localised forms.
fn is_original_message(line: &str) -> bool {
    const ORIGINAL: [&str; 5] = [
        "original message",
        "ursprüngliche nachricht",
        "message d'origine",
        "mensaje original",
        "oorspronkelijk bericht",
    ];
    between_dashes(line).is_some_and(|words| ORIGINAL.contains(&words.to_lowercase().as_str()))
}

/// The top of a forwarded message: Gmail's `---------- Forwarded message ---------` (and
/// its localised forms) or Apple Mail's `Begin forwarded message:`.
fn is_forward_marker(line: &str) -> bool {
    const FORWARDED: [&str; 5] = [
        "forwarded message",
        "weitergeleitete nachricht",
        "message transféré",
        "mensaje reenviado",
        "doorgestuurd bericht",
    ];
    line.trim() == "Begin forwarded message:"
        || between_dashes(line)
            .is_some_and(|words| FORWARDED.contains(&words.to_lowercase().as_str()))
}

/// The lowercased label of a header-like line: `From` of `From: …`, of `*From:* …` (Outlook's
/// bold headers) and of `De : …`.
fn header_label(line: &str) -> Option<String> {
    let (label, _) = line.trim().trim_start_matches('*').split_once(':')?;
    let label = label.trim();
    (!label.is_empty()).then(|| label.to_lowercase())
}

/// Whether `line` is an Outlook `From:` line (English, French/Spanish, German, Dutch).
fn is_from_header(line: &str) -> bool {
    header_label(line).is_some_and(|label| ["from", "de", "von", "van"].contains(&label.as_str()))
}

/// Whether `line` is an Outlook `Sent:` line or its stand-ins.
fn is_sent_header(line: &str) -> bool {
    const SENT: [&str; 8] = [
        "sent",
        "date",
        "gesendet",
        "datum",
        "envoyé",
        "enviado",
        "enviado el",
        "verzonden",
    ];
    header_label(line).is_some_and(|label| SENT.contains(&label.as_str()))
}

/// A `From:` line on line `i` with a `Sent:` line within the next four lines.
fn is_outlook_headers_at(lines: &[&str], i: usize) -> bool {
    is_from_header(lines[i])
        && lines[i + 1..]
            .iter()
            .take(4)
            .any(|line| is_sent_header(line))
}

/// A line of ten or more underscores on line `i` with a `From:` line next (blank lines
/// aside), as Outlook on the web writes above the quoted message.
fn is_outlook_web_rule_at(lines: &[&str], i: usize) -> bool {
    let rule = lines[i].trim();
    rule.chars().count() >= 10
        && rule.chars().all(|c| c == '_')
        && lines[i + 1..]
            .iter()
            .find(|line| !line.trim().is_empty())
            .is_some_and(|line| is_from_header(line))
}

/// `lines` without a block of `>` lines (and blank lines among them) at its very end.
fn without_trailing_quote<'a, 'b>(lines: &'b [&'a str]) -> &'b [&'a str] {
    let mut start = None;
    for (i, line) in lines.iter().enumerate().rev() {
        let line = line.trim();
        if line.starts_with('>') {
            start = Some(i);
        } else if !line.is_empty() {
            break;
        }
    }
    &lines[..start.unwrap_or(lines.len())]
}

/// The HTML part of an outgoing message: its text, escaped, with the little structure plain
/// text has shown as HTML — paragraphs (blank lines), line breaks, `> ` quotes, `- ` / `* `
/// lists, `**bold**`, and `http(s)://` addresses as links. Nothing in the text becomes markup
/// of its own: every `<`, `>`, `&` and quote is escaped first, and only http(s) links are made.
pub fn to_html(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut out = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"></head><body style=\"font-family: sans-serif\">\n",
    );
    for block in text.split("\n\n") {
        let lines: Vec<&str> = block.lines().collect();
        if lines.iter().all(|l| l.trim().is_empty()) {
            continue;
        }
        let all = |p: &dyn Fn(&str) -> bool| lines.iter().all(|l| p(l));
        if all(&|l| l.starts_with('>')) {
            let inner: Vec<&str> = lines
                .iter()
                .map(|l| l.trim_start_matches('>').trim_start())
                .collect();
            out.push_str(
                "<blockquote style=\"border-left: 2px solid #ccc; margin: 0; padding-left: 1em\">",
            );
            out.push_str(&inline_lines(&inner));
            out.push_str("</blockquote>\n");
        } else if all(&|l| l.starts_with("- ") || l.starts_with("* ")) {
            out.push_str("<ul>");
            for l in &lines {
                out.push_str("<li>");
                out.push_str(&inline(&l[2..]));
                out.push_str("</li>");
            }
            out.push_str("</ul>\n");
        } else {
            out.push_str("<p>");
            out.push_str(&inline_lines(&lines));
            out.push_str("</p>\n");
        }
    }
    out.push_str("</body></html>\n");
    out
}

fn inline_lines(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| inline(l))
        .collect::<Vec<_>>()
        .join("<br>\n")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// One line: escaped, `**bold**` and http(s) links.
fn inline(line: &str) -> String {
    let mut out = String::new();
    for (i, part) in line.split("**").enumerate() {
        // Odd parts are between two `**`; an unclosed `**` stays as it is.
        let closed = i % 2 == 1 && line.split("**").count() > i + 1;
        let html = links(part);
        if closed {
            out.push_str("<strong>");
            out.push_str(&html);
            out.push_str("</strong>");
        } else {
            if i > 0 && i % 2 == 1 {
                out.push_str("**");
            }
            out.push_str(&html);
        }
    }
    out
}

/// Escaped text with its http(s) addresses as links.
fn links(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = ["https://", "http://"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        out.push_str(&escape(&rest[..at]));
        let url_len = rest[at..]
            .find(|c: char| c.is_whitespace() || "<>\"'".contains(c))
            .unwrap_or(rest.len() - at);
        let mut url = &rest[at..at + url_len];
        // A sentence's last full stop, comma or bracket is not part of the address.
        while let Some(last) = url.chars().last()
            && ".,;:!?)]".contains(last)
        {
            url = &url[..url.len() - last.len_utf8()];
        }
        let u = escape(url);
        out.push_str(&format!("<a href=\"{u}\">{u}</a>"));
        rest = &rest[at + url.len()..];
    }
    out.push_str(&escape(rest));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quoted history every test hides below the reply.
    const HISTORY: &str = "QUOTED HISTORY MUST NOT APPEAR";

    /// `strip_quoted` of `text`, checked not to carry the history.
    fn stripped(text: &str) -> String {
        let out = strip_quoted(text);
        assert!(
            !out.contains(HISTORY),
            "history left in {out:?} from {text:?}"
        );
        out
    }

    // --- No quote at all ---

    #[test]
    fn a_message_without_a_quote_comes_back_trimmed() {
        let text = "\n\n  Hello,\n\nthe printer is on fire.\n\nDana  \n\n";
        assert_eq!(
            strip_quoted(text),
            "Hello,\n\nthe printer is on fire.\n\nDana"
        );
    }

    #[test]
    fn empty_and_blank_text_gives_empty_text() {
        assert_eq!(strip_quoted(""), "");
        assert_eq!(strip_quoted(" \n\r\n\t\n"), "");
    }

    // --- Ferrodesk's reply marker ---

    #[test]
    fn cuts_at_the_reply_marker() {
        let text = format!("Thanks, fixed.\n\n{REPLY_MARKER}\n\nYour ticket #12:\n{HISTORY}\n");
        assert_eq!(stripped(&text), "Thanks, fixed.");
    }

    #[test]
    fn cuts_at_a_line_that_contains_the_reply_marker() {
        let text = format!("Thanks, fixed.\n\n> {REPLY_MARKER}\n> {HISTORY}\n\nmore text\n");
        assert_eq!(stripped(&text), "Thanks, fixed.");
    }

    // --- Attribution lines ---

    #[test]
    fn cuts_at_a_gmail_attribution() {
        let text = format!(
            "Gmail reply: the printer is still smoking.\n\n\
             On Tue, 1 Dec 2026 at 10:00, Ferrodesk Support <support@desk.example> wrote:\n\n\
             > {HISTORY}\n"
        );
        assert_eq!(
            stripped(&text),
            "Gmail reply: the printer is still smoking."
        );
    }

    #[test]
    fn cuts_at_a_gmail_attribution_wrapped_over_two_lines() {
        let text = format!(
            "Still smoking.\n\n\
             On Tue, 1 Dec 2026 at 10:00, Dana Customer <\n\
             dana@example.com> wrote:\n\n\
             > {HISTORY}\n"
        );
        assert_eq!(stripped(&text), "Still smoking.");
        // Wrapped elsewhere, and with the history not quoted.
        let text = format!(
            "Still smoking.\n\
             On Tue, 1 Dec 2026 at 10:00, Ferrodesk Support\n\
             <support@desk.example> wrote:\n\
             {HISTORY}\n"
        );
        assert_eq!(stripped(&text), "Still smoking.");
    }

    #[test]
    fn cuts_at_apple_mail_and_thunderbird_attributions() {
        for attribution in [
            "On 1 Dec 2026, at 10:00, Dana <dana@x.example> wrote:",
            "On 12/1/26 10:00 AM, Dana Customer wrote:",
            "  On Tuesday, Dana wrote:  ",
        ] {
            let text = format!("Thanks, it works now.\n\n{attribution}\n\n> {HISTORY}\n");
            assert_eq!(stripped(&text), "Thanks, it works now.", "{attribution}");
        }
    }

    #[test]
    fn cuts_at_localised_attributions() {
        for attribution in [
            "Am 01.12.2026 um 10:00 schrieb Dana Müller <dana@x.example>:",
            "Am Di., 1. Dez. 2026 um 10:00 Uhr schrieb Ferrodesk Support <support@desk.example>:",
            "Le mar. 1 déc. 2026 à 10:00, Dana <dana@x.example> a écrit :",
            "Le 01/12/2026 à 10:00, Dana a écrit:",
            "Le mar. 1 déc. 2026 à 10:00, Dana <dana@x.example> a écrit\u{202f}:",
            "El mar, 1 dic 2026 a las 10:00, Dana (<dana@x.example>) escribió:",
            "Op di 1 dec. 2026 om 10:00 schreef Dana <dana@x.example>:",
        ] {
            let text = format!("Antwort.\n\n{attribution}\n> {HISTORY}\n");
            assert_eq!(stripped(&text), "Antwort.", "{attribution}");
        }
    }

    #[test]
    fn cuts_at_a_localised_attribution_wrapped_over_two_lines() {
        let text = format!(
            "Danke!\n\nAm Di., 1. Dez. 2026 um 10:00 Uhr schrieb Ferrodesk Support <\n\
             support@desk.example>:\n\n> {HISTORY}\n"
        );
        assert_eq!(stripped(&text), "Danke!");
    }

    #[test]
    fn keeps_prose_that_only_looks_like_an_attribution() {
        for text in [
            // Starts with "On" but is not followed by "wrote:".
            "On Monday the printer broke.\nIt still smokes.",
            // "wrote:" on the next line, but no address: not a wrapped attribution.
            "On Monday the printer broke, and then\nmy colleague wrote:\nplease help",
            "On Monday I wrote to you about it.\nNo answer yet.",
            "Am Montag ging es noch.",
            "Le client a écrit hier.",
            "> On Tue, 1 Dec 2026, Dana wrote:\nan inline answer below a quote",
        ] {
            assert_eq!(strip_quoted(text), text, "{text}");
        }
    }

    // --- Outlook ---

    #[test]
    fn cuts_at_outlooks_original_message_line() {
        for line in [
            "-----Original Message-----",
            "----- Original Message -----",
            "---original message---",
            "  ---------ORIGINAL MESSAGE--------  ",
            "-----Ursprüngliche Nachricht-----",
            "-----Message d'origine-----",
        ] {
            let text = format!("We tried again.\n\n{line}\nFrom: Support\n{HISTORY}\n");
            assert_eq!(stripped(&text), "We tried again.", "{line}");
        }
    }

    #[test]
    fn needs_three_dashes_each_side_of_original_message() {
        for line in [
            "--Original Message--",
            "-----Original Message--",
            "Original Message",
        ] {
            let text = format!("We tried again.\n{line}\nstill here");
            assert_eq!(strip_quoted(&text), text, "{line}");
        }
    }

    #[test]
    fn cuts_at_an_outlook_header_block() {
        for (from, sent) in [
            (
                "From: Ferrodesk Support <support@desk.example>",
                "Sent: Tuesday, December 1, 2026 10:00 AM",
            ),
            (
                "*From:* Ferrodesk Support <support@desk.example>",
                "*Sent:* Tuesday, December 1, 2026 10:00 AM",
            ),
            ("From: Ferrodesk Support", "Date: Tue, 1 Dec 2026 10:00"),
            (
                "Von: Ferrodesk Support <support@desk.example>",
                "Gesendet: Dienstag, 1. Dezember 2026 10:00",
            ),
            (
                "De : Ferrodesk Support <support@desk.example>",
                "Envoyé : mardi 1 décembre 2026 10:00",
            ),
            (
                "De: Ferrodesk Support <support@desk.example>",
                "Enviado el: martes, 1 de diciembre de 2026 10:00",
            ),
        ] {
            let text = format!(
                "Outlook reply.\n\n{from}\n{sent}\nTo: Dana\nSubject: Printer on fire\n\n{HISTORY}\n"
            );
            assert_eq!(stripped(&text), "Outlook reply.", "{from}");
        }
    }

    #[test]
    fn finds_sent_within_four_lines_of_from() {
        let near = format!(
            "Reply.\nFrom: Support\nTo: Dana\nCc: Erin\nSubject: Printer\nSent: Tuesday\n{HISTORY}"
        );
        assert_eq!(stripped(&near), "Reply.");
        let far = "Reply.\nFrom: Support\nTo: Dana\nCc: Erin\nBcc: Frank\nSubject: Printer\nSent: Tuesday";
        assert_eq!(strip_quoted(far), far);
    }

    #[test]
    fn keeps_a_from_line_without_a_sent_line() {
        let text = "From: my side, the printer is fine.\nTo be sure I restarted it.";
        assert_eq!(strip_quoted(text), text);
    }

    #[test]
    fn cuts_at_outlook_webs_underscore_rule() {
        let text = format!(
            "Outlook web reply.\n\n________________________________\n\
             From: Ferrodesk Support <support@desk.example>\nSent: Tuesday, December 1, 2026\n\
             {HISTORY}\n"
        );
        assert_eq!(stripped(&text), "Outlook web reply.");
        // A blank line between the rule and the From: line.
        let text = format!("Reply.\n__________\n\nFrom: Support\nSent: Tuesday\n{HISTORY}");
        assert_eq!(stripped(&text), "Reply.");
    }

    #[test]
    fn an_underscore_rule_needs_ten_underscores_and_a_from_line() {
        // Nine underscores: the header block still goes, the line above it stays.
        let text = format!("Reply.\n_________\nFrom: Support\nSent: Tuesday\n{HISTORY}");
        assert_eq!(stripped(&text), "Reply.\n_________");
        // A rule as a divider in the writer's text.
        let text = "Part one.\n____________________\nPart two.";
        assert_eq!(strip_quoted(text), text);
    }

    // --- Trailing quote ---

    #[test]
    fn cuts_a_trailing_quote_block() {
        let text =
            format!("Yes, that helped.\n\n> {HISTORY}\n> more history\n>\n\n> {HISTORY}\n\n");
        assert_eq!(stripped(&text), "Yes, that helped.");
        let text = format!("Yes.\n  > indented {HISTORY}\n>> {HISTORY}");
        assert_eq!(stripped(&text), "Yes.");
    }

    #[test]
    fn keeps_interleaved_inline_answers_whole() {
        let text = "> Is the printer on?\nYes.\n\n> Is it smoking?\nA little.";
        assert_eq!(strip_quoted(text), text);
        let text = "Hello,\n> a quote in the middle\nand my text after it.";
        assert_eq!(strip_quoted(text), text);
    }

    #[test]
    fn cuts_a_trailing_quote_left_above_another_cut() {
        let text = format!("Reply.\n\n> {HISTORY}\n-- \nDana");
        assert_eq!(stripped(&text), "Reply.");
    }

    // --- Signature ---

    #[test]
    fn cuts_at_the_signature_separator() {
        let text = format!("Reply.\n\n-- \nDana Customer\nACME Corp\n\n{HISTORY}");
        assert_eq!(stripped(&text), "Reply.");
    }

    #[test]
    fn only_dash_dash_space_is_a_signature_separator() {
        for line in ["--", "---", "-- x", " -- ", "--  "] {
            let text = format!("Reply.\n{line}\nstill mine");
            assert_eq!(strip_quoted(&text), text, "{line:?}");
        }
    }

    // --- Forwards ---

    #[test]
    fn keeps_a_forwarded_message() {
        let text = "Forwarded request: please look at the invoice below.\n\n\
                    ---------- Forwarded message ---------\n\
                    From: Billing <billing@vendor.example>\n\
                    Date: Mon, 30 Nov 2026 at 09:00\n\
                    Subject: Invoice 4411\n\
                    To: <dana@customer.example>\n\n\
                    The invoice total is 4411 EUR.\n\n\
                    -- \nBilling team\n\n> an old quote";
        assert_eq!(strip_quoted(text), text);
    }

    #[test]
    fn keeps_an_apple_mail_forward() {
        let text = "See below.\n\nBegin forwarded message:\n\nFrom: Billing <billing@vendor.example>\n\
                    Date: 30 November 2026 at 09:00:00 CET\n\nThe invoice total is 4411 EUR.";
        assert_eq!(strip_quoted(text), text);
    }

    #[test]
    fn drops_a_signature_above_a_forward_but_keeps_the_forward() {
        let text = "Please look.\n\n-- \nDana\n\n---------- Forwarded message ---------\n\
                    From: Billing <billing@vendor.example>\nDate: Mon, 30 Nov 2026\n\n\
                    The invoice total is 4411 EUR.";
        assert_eq!(
            strip_quoted(text),
            "Please look.\n\n---------- Forwarded message ---------\n\
             From: Billing <billing@vendor.example>\nDate: Mon, 30 Nov 2026\n\n\
             The invoice total is 4411 EUR."
        );
    }

    #[test]
    fn a_forward_inside_the_quoted_history_goes_with_it() {
        let text = format!(
            "Reply.\n\nOn Tue, 1 Dec 2026, Dana <dana@x.example> wrote:\n\
             ---------- Forwarded message ---------\n{HISTORY}"
        );
        assert_eq!(stripped(&text), "Reply.");
        // The signature above history above a forward: all of it goes.
        let text = format!(
            "Reply.\n-- \nDana\n-----Original Message-----\n\
             ---------- Forwarded message ---------\n{HISTORY}"
        );
        assert_eq!(stripped(&text), "Reply.");
    }

    // --- The first cut wins ---

    #[test]
    fn cuts_at_the_first_of_several_cut_points() {
        let text = format!(
            "Reply.\n\nOn Tue, 1 Dec 2026, Support <support@desk.example> wrote:\n\
             > {HISTORY}\n> {REPLY_MARKER}\n> -----Original Message-----\n-- \nsig"
        );
        assert_eq!(stripped(&text), "Reply.");
        let text = format!("Reply.\n-- \nDana\n\nOn Tue, Support wrote:\n> {HISTORY}");
        assert_eq!(stripped(&text), "Reply.");
    }

    // --- Nothing left: the whole text ---

    #[test]
    fn a_message_that_is_only_a_quote_comes_back_whole() {
        let text = "\n> QUOTED HISTORY\n> more\n";
        assert_eq!(strip_quoted(text), "> QUOTED HISTORY\n> more");
        let text = "On Tue, 1 Dec 2026, Dana <dana@x.example> wrote:\n> QUOTED\n";
        assert_eq!(strip_quoted(text), text.trim());
        let text = format!("{REPLY_MARKER}\nold text");
        assert_eq!(strip_quoted(&text), text);
        let text = "-- \nDana Customer";
        assert_eq!(strip_quoted(text), text);
    }

    #[test]
    fn a_forward_without_a_comment_comes_back_whole() {
        let text = "---------- Forwarded message ---------\nFrom: Billing <b@vendor.example>\n\
                    Date: Mon, 30 Nov 2026\n\nThe invoice total is 4411 EUR.\n";
        assert_eq!(strip_quoted(text), text.trim());
    }

    // --- Line endings and non-ASCII text ---

    #[test]
    fn normalises_crlf() {
        let text = format!(
            "Line one.\r\nLine two.\r\n\r\n\
             On Tue, 1 Dec 2026 at 10:00, Ferrodesk Support <\r\n\
             support@desk.example> wrote:\r\n\r\n> {HISTORY}\r\n"
        );
        assert_eq!(stripped(&text), "Line one.\nLine two.");
        let text = format!("Reply.\r\n-- \r\nDana\r\n{HISTORY}\r\n");
        assert_eq!(stripped(&text), "Reply.");
        let text = format!("Outlook.\r\n-----Original Message-----\r\n{HISTORY}");
        assert_eq!(stripped(&text), "Outlook.");
        // Nothing to cut: the line endings are still normalised.
        assert_eq!(strip_quoted("a\r\nb\r\n"), "a\nb");
        assert_eq!(strip_quoted("a\rb"), "a\nb");
    }

    #[test]
    fn keeps_japanese_text_intact() {
        let reply = "新しい依頼：プリンターが動きません。\n電源を入れ直しても同じです。";
        let text = format!(
            "{reply}\r\n\r\nOn Tue, 1 Dec 2026 at 10:00, サポート <support@desk.example> wrote:\r\n\
             > {HISTORY}\r\n> 以前のメッセージ\r\n"
        );
        assert_eq!(stripped(&text), reply);
        // Japanese text and a quote in it, nothing to cut.
        let text = "プリンター：\n> 動きません\nはい、動きません。";
        assert_eq!(strip_quoted(text), text);
    }

    #[test]
    fn keeps_german_umlauts_intact() {
        let reply = "Grüße aus München — die Größe der Äpfel ändert sich.\nÖffnungszeiten: ÜBERALL";
        let text = format!(
            "{reply}\n\nAm 01.12.2026 um 10:00 schrieb Jürgen Müller <juergen@müller.example>:\n\
             > {HISTORY}\n"
        );
        assert_eq!(stripped(&text), reply);
        let text = format!("{reply}\n\nVon: Jürgen Müller\nGesendet: Dienstag\n{HISTORY}");
        assert_eq!(stripped(&text), reply);
    }

    #[test]
    fn html_is_escaped_text_with_paragraphs_quotes_lists_bold_and_links() {
        let html = to_html(
            "Hello <b>Dana</b> & co,\r\nsee https://desk.example.com/t/1?a=1&b=2.\n\n\
             > quoted <script>alert(1)</script>\n> more\n\n- one\n- **two**\n\n\
             **not closed and javascript:alert(1) \"x\"",
        );
        assert!(html.contains("<p>Hello &lt;b&gt;Dana&lt;/b&gt; &amp; co,<br>\nsee <a href=\"https://desk.example.com/t/1?a=1&amp;b=2\">https://desk.example.com/t/1?a=1&amp;b=2</a>.</p>"), "{html}");
        assert!(
            html.contains("quoted &lt;script&gt;alert(1)&lt;/script&gt;<br>\nmore</blockquote>"),
            "{html}"
        );
        assert!(
            html.contains("<ul><li>one</li><li><strong>two</strong></li></ul>"),
            "{html}"
        );
        assert!(
            html.contains("<p>**not closed and javascript:alert(1) &quot;x&quot;</p>"),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
        assert_eq!(
            html.matches("<a ").count(),
            1,
            "only http(s) addresses become links"
        );
    }
}
