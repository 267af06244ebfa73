//! `--seed`: demo users, follows, and free and paid posts with generated
//! photos, made through the public API like any client would. A second run
//! finds the users and adds nothing twice.

use anyhow::{Context, bail};
use image::{ImageEncoder, Rgb, RgbImage};
use serde_json::{Value, json};

/// Every demo account's password.
pub const DEMO_PASSWORD: &str = "shutter-demo";
pub const DEMO_USERS: [&str; 3] = ["alice", "bob", "carol"];

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn call(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// Signs `name` up, or in when the account exists; returns an access token.
    async fn account(&self, name: &str) -> anyhow::Result<String> {
        let signup = json!({ "username": name, "email": format!("{name}@demo.shutter.test"), "password": DEMO_PASSWORD });
        let (status, body) = self.call(None, reqwest::Method::POST, "/v1/auth/signup", Some(signup)).await?;
        let tokens = match status {
            201 => body["tokens"].clone(),
            409 => {
                let login = json!({ "login": name, "password": DEMO_PASSWORD });
                let (status, body) =
                    self.call(None, reqwest::Method::POST, "/v1/auth/login", Some(login)).await?;
                if status != 200 {
                    bail!("{name} exists with another password (login answered {status})");
                }
                body
            }
            _ => bail!("sign-up of {name} answered {status}: {body}"),
        };
        tokens["access_token"].as_str().map(str::to_owned).context("no access token in auth's answer")
    }

    async fn upload(&self, token: &str, jpeg: Vec<u8>) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!("{}/v1/media", self.base))
            .bearer_auth(token)
            .header("content-type", "image/jpeg")
            .body(jpeg)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if status != 201 {
            bail!("upload answered {status}: {body}");
        }
        body["id"].as_str().map(str::to_owned).context("no media id in media's answer")
    }

    async fn expect(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let (status, answer) = self.call(Some(token), method, path, body).await?;
        if !(200..300).contains(&status) {
            bail!("{path} answered {status}: {answer}");
        }
        Ok(answer)
    }
}

/// The demo posts: (author, caption, price in cents, photo scenes).
const POSTS: &[(&str, &str, u64, &[u32])] = &[
    ("alice", "Morning over the hills", 0, &[1]),
    ("bob", "First light", 0, &[2]),
    ("alice", "Golden hour series (paid)", 300, &[3, 4]),
    ("alice", "Blue hour", 0, &[5]),
    ("bob", "Behind the scenes (paid)", 150, &[6]),
];

const FOLLOWS: &[(&str, &str)] = &[("bob", "alice"), ("carol", "alice"), ("carol", "bob"), ("alice", "bob")];

pub async fn run(public_url: &str) -> anyhow::Result<()> {
    let client = Client { http: reqwest::Client::new(), base: public_url.trim_end_matches('/').to_owned() };
    let mut tokens = std::collections::HashMap::new();
    for name in DEMO_USERS {
        tokens.insert(name, client.account(name).await?);
    }
    let (_, existing) = client.call(None, reqwest::Method::GET, "/v1/users/alice/posts", None).await?;
    if existing["items"].as_array().is_some_and(|items| !items.is_empty()) {
        println!("seed: demo data already present");
        return Ok(());
    }
    for (follower, followed) in FOLLOWS {
        client
            .expect(&tokens[follower], reqwest::Method::POST, &format!("/v1/users/{followed}/follow"), None)
            .await?;
    }
    for (author, caption, price_cents, scenes) in POSTS {
        let mut media_ids = Vec::new();
        for scene in *scenes {
            media_ids.push(client.upload(&tokens[author], scene_jpeg(*scene, 1200, 900)?).await?);
        }
        let post = json!({ "caption": caption, "media_ids": media_ids, "price_cents": price_cents });
        client.expect(&tokens[author], reqwest::Method::POST, "/v1/posts", Some(post)).await?;
    }
    client
        .expect(
            &tokens["carol"],
            reqwest::Method::POST,
            "/v1/wallet/dev-topup",
            Some(json!({ "amount_cents": 2000 })),
        )
        .await?;
    println!(
        "seed: users {} (password {DEMO_PASSWORD}), {} posts, carol has €20 to spend",
        DEMO_USERS.join(", "),
        POSTS.len()
    );
    Ok(())
}

/// A landscape: a sky gradient, a sun and rolling hills, coloured by `scene`.
pub fn scene_jpeg(scene: u32, width: u32, height: u32) -> anyhow::Result<Vec<u8>> {
    let hue = (scene as f32 * 0.37).fract();
    let sky_top = hsv(hue, 0.55, 0.95);
    let sky_low = hsv((hue + 0.08).fract(), 0.35, 1.0);
    let ground = hsv((hue + 0.33).fract(), 0.6, 0.55);
    let sun = (
        width as f32 * (0.2 + 0.6 * (scene as f32 * 0.61).fract()),
        height as f32 * 0.35,
        height as f32 * 0.09,
    );
    let image = RgbImage::from_fn(width, height, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        let horizon = height as f32 * (0.62 + 0.06 * (xf / width as f32 * 6.0 + scene as f32).sin());
        if yf > horizon {
            let shade = 1.0 - 0.4 * (yf - horizon) / (height as f32 - horizon).max(1.0);
            return scale(ground, shade);
        }
        if (xf - sun.0).hypot(yf - sun.1) < sun.2 {
            return Rgb([255, 240, 200]);
        }
        mix(sky_top, sky_low, yf / horizon)
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).write_image(
        image.as_raw(),
        width,
        height,
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

fn hsv(h: f32, s: f32, v: f32) -> Rgb<u8> {
    let i = (h * 6.0).floor();
    let f = h * 6.0 - i;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s));
    let (r, g, b) = match i as u32 % 6 {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    Rgb([(r * 255.0) as u8, (g * 255.0) as u8, (b * 255.0) as u8])
}

fn mix(a: Rgb<u8>, b: Rgb<u8>, t: f32) -> Rgb<u8> {
    let t = t.clamp(0.0, 1.0);
    Rgb(std::array::from_fn(|i| (a.0[i] as f32 * (1.0 - t) + b.0[i] as f32 * t) as u8))
}

fn scale(c: Rgb<u8>, k: f32) -> Rgb<u8> {
    Rgb(c.0.map(|v| (v as f32 * k) as u8))
}
