//! The uploader page as tests see it: controls found by their visible labels (as a person finds
//! them) or by the page's stable `data-testid` hooks, and waits that poll the DOM.

use crate::browser::Browser;
use anyhow::{Context, Result, bail};
use fantoccini::Locator;
use fantoccini::elements::Element;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a test waits for the page to reach a state before failing.
const WAIT: Duration = Duration::from_secs(60);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);
/// `data-status` values after which nothing more happens.
const FINAL_STATUSES: [&str; 5] = [
    "PUBLISH_COMPLETE",
    "SEND_TO_USER_INBOX",
    "FAILED",
    "ERROR",
    "CANCELLED",
];

/// The uploader page in one browser.
pub struct UploaderPage {
    browser: Browser,
    url: String,
}

impl UploaderPage {
    pub fn new(browser: Browser, url: String) -> Self {
        Self { browser, url }
    }

    /// Opens the page and waits until it has asked the proxy who the creator is.
    pub async fn open(&self) -> Result<()> {
        self.browser.client.goto(&self.url).await?;
        self.wait_for(
            |page| async move { page.exists("[data-testid=account]").await },
            "the account to load",
        )
        .await
    }

    /// Opens the page, which asks for the operator's password first, signs in through its form
    /// (a "Password" field and a "Sign in" button), and waits until the account has loaded.
    pub async fn open_and_sign_in(&self, password: &str) -> Result<()> {
        self.browser.client.goto(&self.url).await?;
        let field = "//label[starts-with(normalize-space(.), 'Password')]";
        self.wait_for(
            |page| async move {
                Ok(!page
                    .browser
                    .client
                    .find_all(Locator::XPath(field))
                    .await?
                    .is_empty())
            },
            "the sign-in form",
        )
        .await?;
        self.labelled("Password").await?.send_keys(password).await?;
        self.click_labelled_button("Sign in").await?;
        self.wait_for(
            |page| async move { page.exists("[data-testid=account]").await },
            "the account to load after signing in",
        )
        .await
    }

    /// The cookies the browser keeps for the page's origin, as WebDriver reports them (with
    /// their `Secure`, `HttpOnly` and `SameSite` flags).
    pub async fn cookies(&self) -> Result<Vec<fantoccini::cookies::Cookie<'static>>> {
        self.browser
            .client
            .get_all_cookies()
            .await
            .map_err(Into::into)
    }

    /// The account line ("Posting as …", or why posting is not possible).
    pub async fn account_text(&self) -> Result<String> {
        self.testid("account")
            .await?
            .text()
            .await
            .map_err(Into::into)
    }

    /// Chooses a file in the "Video file" picker and waits until the page has judged it.
    pub async fn choose_file(&self, path: &Path) -> Result<()> {
        let path = path.canonicalize()?;
        self.testid("file-input")
            .await?
            .send_keys(&path.to_string_lossy())
            .await?;
        self.wait_for(
            |page| async move {
                Ok(page.exists("[data-testid=video-facts]").await?
                    || page.exists("[data-testid=video-error]").await?)
            },
            "the chosen file to be checked",
        )
        .await
    }

    /// The message shown for a refused file.
    pub async fn video_error(&self) -> Result<String> {
        self.testid("video-error")
            .await?
            .text()
            .await
            .map_err(Into::into)
    }

    /// Types into the "Caption" field. ChromeDriver types only characters of the Basic
    /// Multilingual Plane; the others (emoji, which a caption's UTF-16 limit must count right)
    /// are inserted as the browser inserts composed text, with `insertText` on the focused
    /// field, which fires the same `input` events as typing.
    pub async fn type_caption(&self, text: &str) -> Result<()> {
        let field = self.labelled("Caption").await?;
        let mut run = String::new();
        for (index, character) in text.char_indices() {
            let bmp = character.len_utf16() == 1;
            let next_bmp = text[index + character.len_utf8()..]
                .chars()
                .next()
                .map(|next| next.len_utf16() == 1);
            run.push(character);
            if next_bmp == Some(bmp) {
                continue;
            }
            if bmp {
                field.send_keys(&run).await?;
            } else {
                self.browser
                    .client
                    .execute(
                        "arguments[0].focus(); document.execCommand('insertText', false, arguments[1]);",
                        vec![serde_json::to_value(&field)?, run.clone().into()],
                    )
                    .await?;
            }
            run.clear();
        }
        Ok(())
    }

    /// Picks an audience in "Who can view this video" by its visible label ("Everyone", …).
    /// Waits for the option first: the list holds the creator's options once TikTok answered.
    pub async fn choose_privacy(&self, label: &str) -> Result<()> {
        self.wait_for(
            |page| async move {
                Ok(page
                    .privacy_options()
                    .await?
                    .iter()
                    .any(|(shown, _)| shown == label))
            },
            &format!("the audience {label:?} to be offered"),
        )
        .await?;
        self.labelled("Who can view this video")
            .await?
            .select_by_label(label)
            .await
            .map_err(Into::into)
    }

    /// Clicks the checkbox or radio button whose label starts with `label`.
    pub async fn click_labelled(&self, label: &str) -> Result<()> {
        self.labelled(label)
            .await?
            .click()
            .await
            .map_err(Into::into)
    }

    /// Clicks the button whose text is `label`.
    pub async fn click_labelled_button(&self, label: &str) -> Result<()> {
        self.click_xpath(&format!("//button[normalize-space(.)='{label}']"))
            .await
    }

    /// Clicks the first element `xpath` finds.
    async fn click_xpath(&self, xpath: &str) -> Result<()> {
        self.browser
            .client
            .find(Locator::XPath(xpath))
            .await?
            .click()
            .await
            .map_err(Into::into)
    }

    /// Whether the Post button can be pressed.
    pub async fn post_enabled(&self) -> Result<bool> {
        Ok(self
            .testid("post-button")
            .await?
            .attr("disabled")
            .await?
            .is_none())
    }

    /// The text under the Post button saying what is still missing.
    pub async fn post_hint(&self) -> Result<String> {
        self.browser
            .client
            .find(Locator::Id("post-hint"))
            .await?
            .text()
            .await
            .map_err(Into::into)
    }

    /// Opens the page, picks `video`, chooses "Only me", presses Post.
    pub async fn post_privately(&self, video: &Path) -> Result<()> {
        self.open().await?;
        self.choose_file(video).await?;
        self.choose_privacy("Only me").await?;
        self.post().await
    }

    /// Presses Post.
    pub async fn post(&self) -> Result<()> {
        self.testid("post-button")
            .await?
            .click()
            .await
            .map_err(Into::into)
    }

    /// Waits for a final `data-status` and returns it with the status line's text.
    pub async fn final_status(&self) -> Result<(String, String)> {
        self.final_status_within(WAIT).await
    }

    /// Like [`UploaderPage::final_status`], waiting up to `limit` (uploads on a slow link).
    pub async fn final_status_within(&self, limit: Duration) -> Result<(String, String)> {
        self.wait_for_within(
            limit,
            |page| async move {
                let status = page
                    .testid("status")
                    .await?
                    .attr("data-status")
                    .await?
                    .unwrap_or_default();
                Ok(FINAL_STATUSES.contains(&status.as_str()))
            },
            "a final status",
        )
        .await?;
        let status = self.testid("status").await?;
        Ok((
            status.attr("data-status").await?.unwrap_or_default(),
            status.text().await?,
        ))
    }

    /// Waits until `data-status` is `status` (e.g. `UPLOADING`, `PAUSED`).
    pub async fn wait_for_status(&self, status: &str) -> Result<()> {
        self.wait_for(
            |page| async move {
                Ok(page
                    .testid("status")
                    .await?
                    .attr("data-status")
                    .await?
                    .as_deref()
                    == Some(status))
            },
            &format!("data-status {status}"),
        )
        .await
    }

    /// Waits until an element with this `data-testid` is on the page.
    pub async fn wait_for_testid(&self, testid: &str) -> Result<()> {
        self.wait_for(
            |page| async move { page.has(testid).await },
            &format!("[data-testid={testid}]"),
        )
        .await
    }

    /// The text of the element with this `data-testid`.
    pub async fn text_of(&self, testid: &str) -> Result<String> {
        self.testid(testid).await?.text().await.map_err(Into::into)
    }

    /// Clicks the element with this `data-testid` (Pause/Resume, Cancel, …).
    pub async fn click(&self, testid: &str) -> Result<()> {
        self.testid(testid).await?.click().await.map_err(Into::into)
    }

    /// Reloads the page, as a person pressing F5 would, and waits for it to load again.
    pub async fn reload(&self) -> Result<()> {
        self.browser.client.refresh().await?;
        self.wait_for(
            |page| async move { page.exists("[data-testid=account]").await },
            "the page to reload",
        )
        .await
    }

    /// Picks the file in the unfinished-upload offer's picker.
    pub async fn resume_with(&self, path: &Path) -> Result<()> {
        let path = path.canonicalize()?;
        self.testid("resume-input")
            .await?
            .send_keys(&path.to_string_lossy())
            .await
            .map_err(Into::into)
    }

    /// Makes the page believe the browser went offline (or came back): `navigator.onLine` and
    /// the `offline`/`online` event, as the browser reports a lost network.
    pub async fn set_online(&self, online: bool) -> Result<()> {
        let script = "const online = arguments[0];
            Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => online });
            window.dispatchEvent(new Event(online ? 'online' : 'offline'));";
        self.browser
            .client
            .execute(script, vec![online.into()])
            .await?;
        Ok(())
    }

    /// Freezes the page as Chrome freezes a background tab on a phone or a busy laptop (no
    /// scripts, timers or event callbacks run; the network process carries on), or lets it run
    /// again. The page hears `freeze` and `resume` on `document`, as it would.
    pub async fn set_frozen(&self, frozen: bool) -> Result<()> {
        let state = if frozen { "frozen" } else { "active" };
        self.browser
            .cdp(
                "Page.setWebLifecycleState",
                serde_json::json!({ "state": state }),
            )
            .await?;
        Ok(())
    }

    /// Starts noting the page's lifecycle events (`freeze`, `resume`), for [`Self::lifecycle`].
    pub async fn record_lifecycle(&self) -> Result<()> {
        let script = "window.__lifecycle = [];
            for (const name of ['freeze', 'resume']) {
                document.addEventListener(name, () => window.__lifecycle.push(name));
            }";
        self.browser.client.execute(script, vec![]).await?;
        Ok(())
    }

    /// The lifecycle events the page heard since [`Self::record_lifecycle`], in order.
    pub async fn lifecycle(&self) -> Result<Vec<String>> {
        let seen = self
            .browser
            .client
            .execute("return window.__lifecycle || [];", vec![])
            .await?;
        Ok(serde_json::from_value(seen)?)
    }

    /// `(startTime, responseEnd)` in milliseconds of each request the page made whose URL
    /// contains `part` (e.g. `/upload/` for the chunk PUTs), from Resource Timing, in order.
    pub async fn request_times(&self, part: &str) -> Result<Vec<(f64, f64)>> {
        let script = "return performance.getEntriesByType('resource')
            .filter(e => e.name.includes(arguments[0]))
            .map(e => [e.startTime, e.responseEnd]);";
        let times = self
            .browser
            .client
            .execute(script, vec![part.into()])
            .await?;
        Ok(serde_json::from_value(times)?)
    }

    /// A value from the page's `localStorage`.
    pub async fn local_storage(&self, key: &str) -> Result<Option<String>> {
        let value = self
            .browser
            .client
            .execute(
                "return window.localStorage.getItem(arguments[0]);",
                vec![key.into()],
            )
            .await?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// Whether an element with this `data-testid` is on the page now.
    pub async fn has(&self, testid: &str) -> Result<bool> {
        self.exists(&format!("[data-testid={testid}]")).await
    }

    /// Every response the page received (URL, headers, body), from the recorder script.
    pub async fn responses(&self) -> Result<Vec<String>> {
        let seen = self
            .browser
            .client
            .execute("return window.__responses || [];", vec![])
            .await?;
        Ok(serde_json::from_value(seen)?)
    }

    /// The live DOM.
    pub async fn html(&self) -> Result<String> {
        self.browser.client.source().await.map_err(Into::into)
    }

    /// Saves a PNG of the page to `target/e2e-artifacts/{name}.png`.
    pub async fn screenshot(&self, name: &str) -> Result<()> {
        // The outcome is what a screenshot is for: show it, not the top of a long form.
        self.screenshot_at(name, "#outcome").await
    }

    /// Saves a PNG of the page, scrolled to the element `css` picks (the page's top when none),
    /// to `target/e2e-artifacts/{name}.png`.
    pub async fn screenshot_at(&self, name: &str, css: &str) -> Result<()> {
        self.browser
            .client
            .execute(
                "const target = document.querySelector(arguments[0]);
                 if (target) target.scrollIntoView({block: 'end'}); else window.scrollTo(0, 0);",
                vec![css.into()],
            )
            .await?;
        let png = self.browser.client.screenshot().await?;
        std::fs::write(crate::artifacts_dir().join(format!("{name}.png")), png)?;
        Ok(())
    }

    /// Opens the page where the proxy asks for the operator's password, and waits for the form.
    pub async fn open_sign_in(&self) -> Result<()> {
        self.browser.client.goto(&self.url).await?;
        self.wait_for_testid("sign-in").await
    }

    /// Types `password` into the sign-in form's "Password" field and presses "Sign in".
    pub async fn sign_in(&self, password: &str) -> Result<()> {
        let field = self.labelled("Password").await?;
        field.clear().await?;
        field.send_keys(password).await?;
        self.click_labelled_button("Sign in").await
    }

    /// The cookie `name` as the browser keeps it (with its `HttpOnly`, `SameSite` and `Secure`
    /// attributes), if it has one for the page.
    pub async fn cookie(&self, name: &str) -> Result<Option<fantoccini::cookies::Cookie<'static>>> {
        let cookies = self.browser.client.get_all_cookies().await?;
        Ok(cookies.into_iter().find(|cookie| cookie.name() == name))
    }

    /// `document.cookie`: the cookies the page's own scripts can read.
    pub async fn script_cookies(&self) -> Result<String> {
        let value = self
            .browser
            .client
            .execute("return document.cookie;", vec![])
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Presses "Disconnect TikTok" and waits for the question that asks to confirm it.
    pub async fn ask_to_disconnect(&self) -> Result<String> {
        self.click("disconnect-button").await?;
        self.wait_for_testid("disconnect-confirm").await?;
        self.text_of("disconnect-confirm").await
    }

    /// The entries of "Who can view this video" as shown: each label and whether it can be
    /// picked (the empty prompt included, first).
    pub async fn privacy_options(&self) -> Result<Vec<(String, bool)>> {
        let select = self.labelled("Who can view this video").await?;
        let mut options = Vec::new();
        for option in select.find_all(Locator::Css("option")).await? {
            let enabled = option.attr("disabled").await?.is_none();
            options.push((option.text().await?, enabled));
        }
        Ok(options)
    }

    /// The audience chosen, as its visible label (`""` for none).
    pub async fn chosen_privacy(&self) -> Result<String> {
        let value = self
            .browser
            .client
            .execute(
                "const s = document.getElementById('privacy'); return s.selectedIndex < 0 ? '' : s.options[s.selectedIndex].value ? s.options[s.selectedIndex].text : '';",
                vec![],
            )
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Whether the checkbox labelled `label` is ticked, and whether it can be changed.
    pub async fn checkbox(&self, label: &str) -> Result<(bool, bool)> {
        let input = self.labelled(label).await?;
        let checked = input.prop("checked").await?.as_deref() == Some("true");
        let enabled = input.attr("disabled").await?.is_none();
        Ok((checked, enabled))
    }

    /// The text of the element that the control labelled `label` names in `aria-describedby`:
    /// what a screen reader reads with it.
    pub async fn description_of(&self, label: &str) -> Result<String> {
        let input = self.labelled(label).await?;
        let id = input
            .attr("aria-describedby")
            .await?
            .with_context(|| format!("{label:?} has no aria-describedby"))?;
        self.browser
            .client
            .find(Locator::Id(&id))
            .await?
            .text()
            .await
            .map_err(Into::into)
    }

    /// The consent line's text, and each link in it as (text, href).
    pub async fn consent(&self) -> Result<(String, Vec<(String, String)>)> {
        let line = self.testid("consent").await?;
        let mut links = Vec::new();
        for link in line.find_all(Locator::Css("a")).await? {
            links.push((
                link.text().await?,
                link.attr("href").await?.unwrap_or_default(),
            ));
        }
        Ok((line.text().await?, links))
    }

    /// The text of `testid` if the element is on the page (`""` when absent).
    pub async fn text_if_any(&self, testid: &str) -> Result<String> {
        match self.testid(testid).await {
            Ok(element) => Ok(element.text().await?),
            Err(_) => Ok(String::new()),
        }
    }

    /// Runs axe-core (`AXE_CORE`: the path of `axe.min.js`, which `cargo xtask test` installs)
    /// in the page and returns its serious and critical violations, one line each.
    pub async fn accessibility_violations(&self) -> Result<Vec<String>> {
        let path = std::env::var_os("AXE_CORE")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(default_axe_path);
        let axe = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading axe-core from {} (run `cargo xtask install`, or set AXE_CORE)",
                path.display()
            )
        })?;
        let client = &self.browser.client;
        client
            .execute(
                "if (!window.axe) { (0, eval)(arguments[0]); }",
                vec![axe.into()],
            )
            .await?;
        let found = client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']}).then(r => done(
                   r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' +
                          v.nodes.map(n => n.target.join(' ')).join(', '))
                 ), e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await?;
        Ok(serde_json::from_value(found)?)
    }

    /// Resizes the window so the page's viewport is `width` CSS pixels wide, and returns the
    /// width the page reports.
    pub async fn set_width(&self, width: u32) -> Result<u32> {
        let client = &self.browser.client;
        client.set_window_size(width, 900).await?;
        // Headless Chromium's window has no frame, but measure rather than assume.
        let inner = client.execute("return window.innerWidth;", vec![]).await?;
        let inner = u32::try_from(inner.as_u64().unwrap_or(0))?;
        if inner != width {
            client
                .set_window_size(width + (width.saturating_sub(inner)), 900)
                .await?;
        }
        let inner = client.execute("return window.innerWidth;", vec![]).await?;
        Ok(u32::try_from(inner.as_u64().unwrap_or(0))?)
    }

    /// Elements that stick out past the viewport's right edge or out of their card (or a page
    /// wider than the viewport), as short descriptions; empty when the layout fits.
    pub async fn wider_than_viewport(&self) -> Result<Vec<String>> {
        let found = self
            .browser
            .client
            .execute(
                "const width = document.documentElement.clientWidth;
                 const out = [];
                 if (document.documentElement.scrollWidth > width) out.push('page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + width);
                 const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (typeof e.className === 'string' && e.className ? '.' + e.className : '');
                 for (const e of document.querySelectorAll('body *')) {
                   const r = e.getBoundingClientRect();
                   if (r.width === 0 || e.closest('.visually-hidden')) continue;
                   if (r.right > width + 0.5) out.push(name(e) + ' right=' + Math.round(r.right) + ' > viewport ' + width);
                   const card = e.parentElement && e.parentElement.closest('.card');
                   if (card) {
                     const c = card.getBoundingClientRect();
                     if (r.right > c.right + 0.5 || r.left < c.left - 0.5) out.push(name(e) + ' sticks out of its card: ' + Math.round(r.left) + '..' + Math.round(r.right) + ' vs ' + Math.round(c.left) + '..' + Math.round(c.right));
                   }
                 }
                 return out;",
                vec![],
            )
            .await?;
        Ok(serde_json::from_value(found)?)
    }

    /// Opens the page without waiting for the account (to act while it still loads).
    pub async fn open_without_waiting(&self) -> Result<()> {
        self.browser.client.goto(&self.url).await?;
        self.wait_for_testid("file-input").await
    }

    /// The address of the creator's avatar as the page shows it.
    pub async fn avatar(&self) -> Result<String> {
        let account = self.testid("account").await?;
        let image = account.find(Locator::Css("img")).await?;
        Ok(image.attr("src").await?.unwrap_or_default())
    }

    /// Moves the focus to the element with this `data-testid`.
    pub async fn focus_testid(&self, testid: &str) -> Result<()> {
        let element = self.testid(testid).await?;
        self.browser
            .client
            .execute(
                "arguments[0].focus();",
                vec![serde_json::to_value(&element)?],
            )
            .await?;
        Ok(())
    }

    /// Presses Tab until the element with this `id` (or `data-testid`) has the focus, as a
    /// keyboard user moves through the form; fails after 40 presses.
    pub async fn tab_to(&self, id: &str) -> Result<()> {
        for _ in 0..40 {
            if self.focused().await? == id {
                return Ok(());
            }
            self.press(fantoccini::key::Key::Tab).await?;
        }
        bail!("Tab never reached {id}")
    }

    /// Presses `key` as the keyboard does, on whatever has the focus (WebDriver's key actions:
    /// unlike typing into an element, this works on a file input too).
    pub async fn press(&self, key: fantoccini::key::Key) -> Result<()> {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let value = char::from(key);
        let actions = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
        self.browser
            .client
            .perform_actions(actions)
            .await
            .map_err(Into::into)
    }

    /// Types `text` into whatever has the focus.
    pub async fn type_into_focused(&self, text: &str) -> Result<()> {
        let focused = self.browser.client.active_element().await?;
        focused.send_keys(text).await.map_err(Into::into)
    }

    /// The `id` (else `data-testid`) of the element that has the focus.
    pub async fn focused(&self) -> Result<String> {
        let found = self
            .browser
            .client
            .execute(
                "const e = document.activeElement; return e ? (e.id || e.dataset.testid || e.tagName) : '';",
                vec![],
            )
            .await?;
        Ok(found.as_str().unwrap_or_default().to_owned())
    }

    /// Saves a PNG of the whole page at the current width (the window made as tall as the page
    /// for the shot) as `{name}.png` in the artifacts.
    pub async fn screenshot_page(&self, name: &str) -> Result<()> {
        let client = &self.browser.client;
        let size = client
            .execute(
                "return [window.innerWidth, document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];",
                vec![],
            )
            .await?;
        let size: [u32; 3] = serde_json::from_value(size)?;
        client
            .set_window_size(size[0], (size[1] + size[2]).min(6000))
            .await?;
        let png = client.screenshot().await?;
        client.set_window_size(size[0], 900).await?;
        std::fs::write(crate::artifacts_dir().join(format!("{name}.png")), png)?;
        Ok(())
    }

    pub async fn close(self) -> Result<()> {
        self.browser.close().await
    }

    /// Sets "Post later" to the browser's local time `ahead` from now, as a person picking it
    /// would (the `input` event of the `datetime-local` field).
    pub async fn choose_post_time(&self, ahead: Duration) -> Result<()> {
        self.set_time_field("post-at", ahead).await
    }

    /// Picks a new time `ahead` from now in the queue's row of `job_id` and presses Reschedule.
    pub async fn reschedule_job(&self, job_id: &str, ahead: Duration) -> Result<()> {
        self.set_time_field(&format!("move-{job_id}"), ahead)
            .await?;
        self.click_in_job(job_id, "Reschedule").await
    }

    /// When the queue shows `job_id` to start: its `<time datetime>` (RFC 3339).
    pub async fn job_time(&self, job_id: &str) -> Result<String> {
        // Read in one script: the list may be drawn again between two WebDriver calls.
        let found = self
            .browser
            .client
            .execute(
                "const time = document.querySelector(`li[data-job-id='${arguments[0]}'] time`);
                 return time ? time.getAttribute('datetime') : '';",
                vec![job_id.into()],
            )
            .await?;
        Ok(found.as_str().unwrap_or_default().to_owned())
    }

    /// Sets the `datetime-local` field `id` to the browser's local time `ahead` from now.
    async fn set_time_field(&self, id: &str, ahead: Duration) -> Result<()> {
        let ms = serde_json::json!(ahead.as_millis() as u64);
        self.browser
            .client
            .execute(
                "const at = new Date(Date.now() + arguments[0]);
                 const local = new Date(at.getTime() - at.getTimezoneOffset() * 60000);
                 const field = document.getElementById(arguments[1]);
                 field.value = local.toISOString().slice(0, 19);
                 field.dispatchEvent(new Event('input', { bubbles: true }));",
                vec![ms, id.into()],
            )
            .await?;
        Ok(())
    }

    /// Waits for "Post later" to answer with the job scheduled; the status line's text.
    pub async fn wait_until_scheduled(&self) -> Result<String> {
        self.wait_for(
            |page| async move {
                let text = page.text_of("schedule-status").await?;
                Ok(text.starts_with("Scheduled for"))
            },
            "the video to be scheduled",
        )
        .await?;
        self.text_of("schedule-status").await
    }

    /// The queue panel's jobs as `(job_id, stage, text)`, newest first.
    pub async fn jobs(&self) -> Result<Vec<(String, String, String)>> {
        self.rows("job", "data-job-id", "data-stage").await
    }

    /// The history panel's posts as `(publish_id, status, text)`, newest first.
    pub async fn history(&self) -> Result<Vec<(String, String, String)>> {
        self.rows("history-entry", "data-publish-id", "data-status")
            .await
    }

    /// Presses the lists' Refresh button until `done` holds for the rows of `panel` (`queue` or
    /// `history`), as a person checking back would.
    pub async fn refresh_until(
        &self,
        panel: &str,
        done: impl Fn(&[(String, String, String)]) -> bool,
    ) -> Result<Vec<(String, String, String)>> {
        let started = Instant::now();
        loop {
            let rows = match panel {
                "queue" => self.jobs().await?,
                _ => self.history().await?,
            };
            if done(&rows) {
                return Ok(rows);
            }
            if started.elapsed() > WAIT {
                let _ = self.screenshot("timeout").await;
                bail!("timed out waiting for the {panel} panel; it shows {rows:#?}");
            }
            self.click_labelled_button("Refresh").await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Presses `button` (Cancel, Reschedule) in the queue's row of `job_id`.
    pub async fn click_in_job(&self, job_id: &str, button: &str) -> Result<()> {
        self.click_xpath(&format!(
            "//li[@data-job-id='{job_id}']//button[normalize-space(.)='{button}']"
        ))
        .await
    }

    /// Rows of a panel: each element with `data-testid=testid` as `(id, state, text)`.
    async fn rows(
        &self,
        testid: &str,
        id: &str,
        state: &str,
    ) -> Result<Vec<(String, String, String)>> {
        let found = self
            .browser
            .client
            .execute(
                "return [...document.querySelectorAll(`[data-testid=${arguments[0]}]`)]
                   .map(e => [e.getAttribute(arguments[1]), e.getAttribute(arguments[2]), e.innerText]);",
                vec![testid.into(), id.into(), state.into()],
            )
            .await?;
        Ok(serde_json::from_value(found)?)
    }

    async fn testid(&self, testid: &str) -> Result<Element> {
        self.browser
            .client
            .find(Locator::Css(&format!("[data-testid={testid}]")))
            .await
            .with_context(|| format!("no element with data-testid={testid}"))
    }

    /// The form control a `<label>` whose text starts with `label` names (through `for`).
    async fn labelled(&self, label: &str) -> Result<Element> {
        let xpath = format!("//label[starts-with(normalize-space(.), '{label}')]");
        let label_element = self
            .browser
            .client
            .find(Locator::XPath(&xpath))
            .await
            .with_context(|| format!("no label {label:?}"))?;
        let id = label_element
            .attr("for")
            .await?
            .with_context(|| format!("label {label:?} names no control"))?;
        self.browser
            .client
            .find(Locator::Id(&id))
            .await
            .map_err(Into::into)
    }

    async fn exists(&self, css: &str) -> Result<bool> {
        Ok(!self
            .browser
            .client
            .find_all(Locator::Css(css))
            .await?
            .is_empty())
    }

    async fn wait_for<'a, F, Fut>(&'a self, check: F, what: &str) -> Result<()>
    where
        F: Fn(&'a Self) -> Fut,
        Fut: std::future::Future<Output = Result<bool>>,
    {
        self.wait_for_within(WAIT, check, what).await
    }

    async fn wait_for_within<'a, F, Fut>(
        &'a self,
        limit: Duration,
        check: F,
        what: &str,
    ) -> Result<()>
    where
        F: Fn(&'a Self) -> Fut,
        Fut: std::future::Future<Output = Result<bool>>,
    {
        let started = Instant::now();
        loop {
            if check(self).await? {
                return Ok(());
            }
            if started.elapsed() > limit {
                let _ = self.screenshot("timeout").await;
                bail!("timed out after {limit:?} waiting for {what}");
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Where `cargo xtask install` keeps axe-core (`~/.cache/tiktok-autoposter/axe-core-*/…`).
fn default_axe_path() -> std::path::PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("tiktok-autoposter");
    std::fs::read_dir(&cache)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("axe-core-"))
        })
        .unwrap_or_default()
        .join("node_modules/axe-core/axe.min.js")
}
