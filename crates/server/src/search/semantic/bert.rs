//! A sentence-embedding model run in-process: a BERT encoder (as in all-MiniLM-L6-v2) read
//! from a sentence-transformers folder (`model.safetensors`, `config.json`, `tokenizer.json`),
//! mean pooling over the tokens, L2 normalisation. CPU only, pure Rust (candle, tokenizers).

use std::path::Path;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::embed::EmbedError;

/// Texts encoded together (memory grows with batch × longest text).
const BATCH: usize = 32;
/// Longest input in word pieces, as sentence-transformers reads MiniLM.
const MAX_TOKENS: usize = 256;

#[derive(serde::Deserialize)]
struct BertConfig {
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default = "default_positions")]
    max_position_embeddings: usize,
    #[serde(default)]
    hidden_act: Option<String>,
}

fn default_eps() -> f64 {
    1e-12
}
fn default_positions() -> usize {
    512
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// A loaded model and its tokenizer.
pub struct SentenceModel {
    name: String,
    /// Identifies these weights (see [`SentenceModel::id`]).
    id: String,
    tokenizer: Tokenizer,
    words: Embedding,
    positions: Embedding,
    token_types: Embedding,
    embeddings_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
}

fn load_err(path: &Path, message: impl ToString) -> EmbedError {
    EmbedError::Load {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

fn model_err(e: candle_core::Error) -> EmbedError {
    EmbedError::Model(e.to_string())
}

impl SentenceModel {
    /// Reads the model from a sentence-transformers folder.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| load_err(dir, format!("{name}: {e}")))
        };
        let config_bytes = read("config.json")?;
        let config: BertConfig = serde_json::from_slice(&config_bytes)
            .map_err(|e| load_err(dir, format!("config.json: {e}")))?;
        if let Some(act) = config.hidden_act.as_deref()
            && act != "gelu"
        {
            return Err(load_err(dir, format!("unsupported activation {act}")));
        }
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|e| load_err(dir, format!("tokenizer.json: {e}")))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS.min(config.max_position_embeddings),
                ..Default::default()
            }))
            .map_err(|e| load_err(dir, format!("tokenizer.json: {e}")))?;
        let padding = tokenizer.get_padding().cloned().unwrap_or_default();
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..padding
        }));
        let weights = read("model.safetensors")?;
        let id = fingerprint(&config_bytes, &weights, config.hidden_size);
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| load_err(dir, format!("model.safetensors: {e}")))?;
        // Exported either bare or under `bert.`.
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let h = config.hidden_size;
        let eps = config.layer_norm_eps;
        let build = || -> candle_core::Result<_> {
            let e = vb.pp("embeddings");
            let emb = |name: &str| {
                let t = e.pp(name).get_unchecked("weight")?;
                Ok::<_, candle_core::Error>(Embedding::new(t, h))
            };
            let words = emb("word_embeddings")?;
            let positions = emb("position_embeddings")?;
            let token_types = emb("token_type_embeddings")?;
            let embeddings_norm = candle_nn::layer_norm(h, eps, e.pp("LayerNorm"))?;
            let mut layers = Vec::with_capacity(config.num_hidden_layers);
            for i in 0..config.num_hidden_layers {
                let l = vb.pp(format!("encoder.layer.{i}"));
                let a = l.pp("attention");
                let linear = |vb: VarBuilder| {
                    let w = vb.get_unchecked("weight")?;
                    let b = vb.get_unchecked("bias")?;
                    Ok::<_, candle_core::Error>(Linear::new(w, Some(b)))
                };
                layers.push(Layer {
                    query: linear(a.pp("self.query"))?,
                    key: linear(a.pp("self.key"))?,
                    value: linear(a.pp("self.value"))?,
                    attention_out: linear(a.pp("output.dense"))?,
                    attention_norm: candle_nn::layer_norm(h, eps, a.pp("output.LayerNorm"))?,
                    intermediate: linear(l.pp("intermediate.dense"))?,
                    output: linear(l.pp("output.dense"))?,
                    output_norm: candle_nn::layer_norm(h, eps, l.pp("output.LayerNorm"))?,
                });
            }
            Ok((words, positions, token_types, embeddings_norm, layers))
        };
        let (words, positions, token_types, embeddings_norm, layers) =
            build().map_err(|e| load_err(dir, format!("model.safetensors: {e}")))?;
        if config.num_attention_heads == 0 || !h.is_multiple_of(config.num_attention_heads) {
            return Err(load_err(dir, "hidden size not divisible by the heads"));
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "local model".into());
        Ok(Self {
            name,
            id,
            tokenizer,
            words,
            positions,
            token_types,
            embeddings_norm,
            layers,
            heads: config.num_attention_heads,
            head_dim: h / config.num_attention_heads,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Names these weights for stored vectors: the dimension and a digest of the config and
    /// the weights, so another model in a folder of the same name never reuses them.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// One normalised vector per text, in order (blocking CPU work).
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // Similar lengths together: less padding.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for batch in order.chunks(BATCH) {
            let inputs: Vec<&str> = batch.iter().map(|&i| texts[i].as_str()).collect();
            let vectors = self.embed_batch(&inputs)?;
            for (&i, v) in batch.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Model(e.to_string()))?;
        let n = encodings.len();
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(n * len);
        let mut types = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for e in &encodings {
            ids.extend(e.get_ids().iter().copied());
            types.extend(e.get_type_ids().iter().copied());
            mask.extend(e.get_attention_mask().iter().map(|&m| m as f32));
        }
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let dev = &Device::Cpu;
            let ids = Tensor::from_vec(ids, (n, len), dev)?;
            let types = Tensor::from_vec(types, (n, len), dev)?;
            let mask = Tensor::from_vec(mask, (n, len), dev)?;
            let positions = Tensor::arange(0u32, len as u32, dev)?.unsqueeze(0)?;
            let x = self
                .words
                .forward(&ids)?
                .add(&self.token_types.forward(&types)?)?
                .broadcast_add(&self.positions.forward(&positions)?)?;
            let mut x = self.embeddings_norm.forward(&x)?;
            // Padding gets a large negative score before the softmax: (n, 1, 1, len).
            let bias = ((mask.clone() - 1.0)? * 10_000.0)?
                .unsqueeze(1)?
                .unsqueeze(1)?;
            for layer in &self.layers {
                x = self.layer(layer, &x, &bias)?;
            }
            // Mean over real tokens.
            let m = mask.unsqueeze(2)?;
            let summed = x.broadcast_mul(&m)?.sum(1)?;
            let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?;
            let mean = summed.broadcast_div(&counts)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
            mean.broadcast_div(&norm)?.to_vec2::<f32>()
        };
        run().map_err(model_err)
    }

    fn layer(&self, l: &Layer, x: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
        let (n, len, h) = x.dims3()?;
        let split = |t: Tensor| -> candle_core::Result<Tensor> {
            t.reshape((n, len, self.heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(l.query.forward(x)?)?;
        let k = split(l.key.forward(x)?)?;
        let v = split(l.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? / (self.head_dim as f64).sqrt())?;
        let probs = candle_nn::ops::softmax_last_dim(&scores.broadcast_add(bias)?)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((n, len, h))?;
        let attended = l
            .attention_norm
            .forward(&(l.attention_out.forward(&context)? + x)?)?;
        let inner = l.intermediate.forward(&attended)?.gelu_erf()?;
        l.output_norm
            .forward(&(l.output.forward(&inner)? + &attended)?)
    }
}

/// `local:<dimension>:<digest>`: a SHA-256 of the config, the weights' length and 4 KiB of
/// every MiB of weights (not all of them, which would slow every start for nothing: another
/// model's weights differ everywhere).
fn fingerprint(config: &[u8], weights: &[u8], dimension: usize) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(config);
    h.update((weights.len() as u64).to_le_bytes());
    for block in weights.chunks(1 << 20) {
        h.update(&block[..block.len().min(4096)]);
    }
    let digest: String = h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("local:{dimension}:{digest}")
}
