//! Turning text into vectors: an embedded model run in-process ([`super::bert`], with the
//! `embedded-model` feature) or any OpenAI-compatible `/v1/embeddings` endpoint (Ollama,
//! vLLM, OpenAI). Every vector comes back L2-normalised, so cosine similarity is a dot product.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Secret;

/// Texts sent in one request to an endpoint.
const ENDPOINT_BATCH: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("cannot load the embedding model from {path}: {message}")]
    Load { path: String, message: String },
    #[error("the embedding model failed: {0}")]
    Model(String),
    #[error("the embeddings endpoint {url} answered {status}: {message}")]
    Endpoint {
        url: String,
        status: u16,
        message: String,
    },
    #[error("the embeddings endpoint {url} cannot be reached: {message}")]
    Unreachable { url: String, message: String },
    #[error("the embeddings endpoint {url} sent an answer that is not embeddings: {message}")]
    Malformed { url: String, message: String },
}

/// Where embeddings come from (the settings `EMBEDDING_MODEL_PATH` or `EMBEDDING_ENDPOINT`).
#[derive(Clone, Debug)]
pub enum EmbeddingSettings {
    /// A sentence-transformers model folder (safetensors, `config.json`, `tokenizer.json`).
    Local { path: std::path::PathBuf },
    /// An OpenAI-compatible API: its base URL (`…/v1`) or its `…/embeddings` URL.
    Endpoint {
        url: url::Url,
        model: String,
        api_key: Option<Secret>,
    },
}

/// A ready embedder, shared by every search.
#[derive(Clone)]
pub enum Embedder {
    #[cfg(feature = "embedded-model")]
    Local(Arc<super::bert::SentenceModel>),
    Endpoint(Arc<Endpoint>),
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl Embedder {
    /// Loads the model or prepares the endpoint client. Loading reads the model files (tens
    /// of megabytes), so call it off the async workers or at start-up.
    pub fn new(settings: &EmbeddingSettings, verify_ssl: bool) -> Result<Self, EmbedError> {
        match settings {
            #[cfg(feature = "embedded-model")]
            EmbeddingSettings::Local { path } => Ok(Embedder::Local(Arc::new(
                super::bert::SentenceModel::load(path)?,
            ))),
            #[cfg(not(feature = "embedded-model"))]
            EmbeddingSettings::Local { path } => Err(EmbedError::Load {
                path: path.display().to_string(),
                message: "this build has no embedded model support (cargo feature \
                          `embedded-model`); use EMBEDDING_ENDPOINT instead"
                    .into(),
            }),
            EmbeddingSettings::Endpoint {
                url,
                model,
                api_key,
            } => Ok(Embedder::Endpoint(Arc::new(Endpoint::new(
                url,
                model,
                api_key.clone(),
                verify_ssl,
            )))),
        }
    }

    /// Names the model for answers: the folder's name, or the endpoint's model.
    pub fn name(&self) -> String {
        match self {
            #[cfg(feature = "embedded-model")]
            Embedder::Local(m) => m.name().to_string(),
            Embedder::Endpoint(e) => e.model.clone(),
        }
    }

    /// Identifies the vectors this embedder makes, for vectors kept on disk: the local
    /// model's dimension and weights digest, or the endpoint's model name. Vectors stored
    /// under another id are never reused.
    pub fn id(&self) -> String {
        match self {
            #[cfg(feature = "embedded-model")]
            Embedder::Local(m) => m.id().to_string(),
            Embedder::Endpoint(e) => format!("endpoint:{}", e.model),
        }
    }

    /// One normalised vector per text, in order.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            #[cfg(feature = "embedded-model")]
            Embedder::Local(m) => {
                // CPU work: keep it off the async workers.
                let m = m.clone();
                tokio::task::spawn_blocking(move || m.embed(&texts))
                    .await
                    .map_err(|e| EmbedError::Model(e.to_string()))?
            }
            Embedder::Endpoint(e) => e.embed(&texts).await,
        }
    }
}

/// An OpenAI-compatible embeddings API.
pub struct Endpoint {
    http: reqwest::Client,
    url: url::Url,
    model: String,
    api_key: Option<Secret>,
}

#[derive(serde::Deserialize)]
struct EmbeddingsAnswer {
    data: Vec<EmbeddingItem>,
}

#[derive(serde::Deserialize)]
struct EmbeddingItem {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

impl Endpoint {
    fn new(base: &url::Url, model: &str, api_key: Option<Secret>, verify_ssl: bool) -> Self {
        let mut url = base.clone();
        if !url.path().trim_end_matches('/').ends_with("/embeddings") {
            let path = format!("{}/embeddings", url.path().trim_end_matches('/'));
            url.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(10))
            .tls_danger_accept_invalid_certs(!verify_ssl)
            .build()
            .unwrap_or_default();
        Self {
            http,
            url,
            model: model.to_string(),
            api_key,
        }
    }

    /// The URL without user info or query, for messages.
    fn shown_url(&self) -> String {
        let mut u = self.url.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.set_query(None);
        u.to_string()
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(ENDPOINT_BATCH) {
            out.extend(self.embed_batch(batch).await?);
        }
        Ok(out)
    }

    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let url = self.shown_url();
        let mut request = self
            .http
            .post(self.url.clone())
            .json(&serde_json::json!({ "model": self.model, "input": texts }));
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose());
        }
        let response = request.send().await.map_err(|e| EmbedError::Unreachable {
            url: url.clone(),
            message: e.without_url().to_string(),
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| EmbedError::Unreachable {
                url: url.clone(),
                message: e.without_url().to_string(),
            })?;
        if !status.is_success() {
            let mut message: String = String::from_utf8_lossy(&body).chars().take(300).collect();
            if let Some(key) = &self.api_key {
                message = message.replace(key.expose(), "<redacted>");
            }
            return Err(EmbedError::Endpoint {
                url,
                status: status.as_u16(),
                message,
            });
        }
        let answer: EmbeddingsAnswer =
            serde_json::from_slice(&body).map_err(|e| EmbedError::Malformed {
                url: url.clone(),
                message: e.to_string(),
            })?;
        if answer.data.len() != texts.len() {
            return Err(EmbedError::Malformed {
                url,
                message: format!("{} embeddings for {} texts", answer.data.len(), texts.len()),
            });
        }
        let mut items = answer.data;
        if items.iter().all(|i| i.index.is_some()) {
            items.sort_by_key(|i| i.index);
        }
        let dims = items[0].embedding.len();
        if dims == 0 || items.iter().any(|i| i.embedding.len() != dims) {
            return Err(EmbedError::Malformed {
                url,
                message: "vectors of different or zero length".into(),
            });
        }
        Ok(items.into_iter().map(|i| normalised(i.embedding)).collect())
    }
}

/// `v` scaled to length 1 (a zero vector stays zero).
pub fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// Dot product; the cosine similarity of normalised vectors.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
