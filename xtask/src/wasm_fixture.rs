//! The simulator the wasm tests upload to. A browser test cannot call TikTok's init (that needs
//! the token, and the API sends no CORS headers), so xtask plays the proxy's part: it starts a
//! simulator, inits one upload, hands the test its `upload_url` and plan at build time, and
//! afterwards checks the simulator received exactly the test's bytes. It also runs a proxy in
//! front of the simulator that lets the test page's origin in with an embed key, so a component
//! test can post through it as an embedding site would.

use anyhow::{Context, Result, bail};
use protocol::chunk::ChunkPlan;
use protocol::tiktok::{
    DirectPostInit, InitData, JSON_CONTENT_TYPE, PostInfo, PrivacyLevel, SourceInfo,
    parse_envelope, paths,
};
use sha2::{Digest, Sha256};

/// The embed key the component test presents (the proxy wants 16 characters or more).
const EMBED_KEY: &str = "wasm-test-embed-key-0123456789";

/// Three chunks of 5 MiB, the last 1000 bytes longer: the smallest multi-chunk upload TikTok allows.
const CHUNK_SIZE: u64 = 5 * 1024 * 1024;
const VIDEO_SIZE: u64 = 3 * CHUNK_SIZE + 1000;

/// A running simulator with one upload waiting for the wasm test's bytes.
pub struct Fixture {
    runtime: tokio::runtime::Runtime,
    sim: sim::Sim,
    publish_id: String,
    /// Environment for `cargo test --target wasm32-unknown-unknown`.
    pub env: Vec<(&'static str, String)>,
}

/// Accepts connections and reads them to the end, never writing a byte back.
async fn swallow_forever(listener: tokio::net::TcpListener) {
    use tokio::io::AsyncReadExt;
    while let Ok((mut stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let mut buffer = vec![0; 64 * 1024];
            while matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {}
        });
    }
}

/// Byte `i` of the test video; the wasm test has the same function.
fn pattern_byte(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

impl Fixture {
    pub fn start() -> Result<Self> {
        let runtime = tokio::runtime::Runtime::new()?;
        let (sim, init) = runtime.block_on(async {
            let sim = sim::spawn(sim::SimOptions::default()).await?;
            let plan = ChunkPlan::validate(VIDEO_SIZE, CHUNK_SIZE, 3)?;
            let body = DirectPostInit {
                post_info: PostInfo {
                    title: Some("wasm-bindgen-test upload".into()),
                    disable_duet: true,
                    disable_stitch: true,
                    disable_comment: true,
                    ..PostInfo::new(PrivacyLevel::SelfOnly)
                },
                source_info: SourceInfo::file_upload(&plan),
            };
            let response = reqwest::Client::new()
                .post(format!("{}{}", sim.base_url(), paths::VIDEO_INIT))
                .bearer_auth(sim.access_token())
                .header("content-type", JSON_CONTENT_TYPE)
                .body(serde_json::to_vec(&body)?)
                .send()
                .await?
                .bytes()
                .await?;
            let (init, _) =
                parse_envelope::<InitData>(&response).context("init at the simulator")?;
            anyhow::Ok((sim, init))
        })?;
        let upload_url = init
            .upload_url
            .context("a FILE_UPLOAD init returns an upload_url")?;
        // The test runner serves its page on this address, which the proxy lets in.
        let page_address = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let proxy_url = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let url = format!("http://{}", listener.local_addr()?);
            let config = proxy::Config {
                listen: listener.local_addr()?,
                api_base: sim.base_url(),
                access_token: Some(proxy::Secret::new(sim.access_token())),
                log_path: std::env::temp_dir()
                    .join(format!("wasm-fixture-{}.jsonl", std::process::id())),
                embed: proxy::EmbedConfig::parse(&format!("http://{page_address}"), EMBED_KEY, "")?,
                ..proxy::Config::default()
            };
            tokio::spawn(proxy::run(listener, config, std::future::pending()));
            anyhow::Ok(url)
        })?;
        // A server that takes every connection and every byte and never answers: a dead link,
        // for the stall timeout's test.
        let silent_url = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let url = format!("http://{}/upload/", listener.local_addr()?);
            tokio::spawn(swallow_forever(listener));
            anyhow::Ok(url)
        })?;
        let env = vec![
            ("WASM_BINDGEN_TEST_ADDRESS", page_address.to_string()),
            ("PROXY_URL", proxy_url),
            ("PROXY_EMBED_KEY", EMBED_KEY.to_owned()),
            ("SIM_UPLOAD_URL", upload_url),
            ("SIM_VIDEO_SIZE", VIDEO_SIZE.to_string()),
            ("SIM_CHUNK_SIZE", CHUNK_SIZE.to_string()),
            ("SIM_CHUNK_COUNT", "3".to_owned()),
            ("SILENT_URL", silent_url),
        ];
        Ok(Self {
            runtime,
            sim,
            publish_id: init.publish_id,
            env,
        })
    }

    /// Checks the simulator holds exactly the test's bytes, then stops it.
    pub fn verify(self) -> Result<()> {
        let upload = self
            .sim
            .upload(&self.publish_id)
            .context("the simulator lost the upload")?;
        let mut hasher = Sha256::new();
        hasher.update((0..VIDEO_SIZE).map(pattern_byte).collect::<Vec<u8>>());
        let expected = hex::encode(hasher.finalize());
        if upload.sha256.as_deref() != Some(expected.as_str()) || upload.chunks_accepted.len() != 3
        {
            bail!(
                "the wasm upload did not arrive whole: {} chunks, sha256 {:?}, expected {expected}",
                upload.chunks_accepted.len(),
                upload.sha256
            );
        }
        println!("wasm upload verified at the simulator: 3 chunks, sha256 {expected}");
        self.sim.shutdown();
        drop(self.runtime);
        Ok(())
    }
}
