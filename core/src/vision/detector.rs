//! The detector a camera pipeline holds: one current model, replaceable between frames.

use std::path::Path;
use std::sync::{Arc, RwLock};

use crate::error::Result;

use super::detection::Detection;
use super::frame::Frame;
use super::model::Model;

/// Runs the current model on frames. `detect` and `replace_model` take `&self`: a pipeline
/// thread keeps detecting while another thread installs a new model, which takes effect from
/// the next frame on (a frame in flight finishes with the model it started with).
#[derive(Debug)]
pub struct Detector {
    current: RwLock<Arc<Model>>,
}

impl Detector {
    /// A detector running `model` (a `Model`, or an `Arc<Model>` shared with other detectors).
    pub fn new(model: impl Into<Arc<Model>>) -> Detector {
        Detector { current: RwLock::new(model.into()) }
    }

    /// Loads the model a descriptor file names (hash-verified).
    pub fn load(descriptor_path: impl AsRef<Path>) -> Result<Detector> {
        Ok(Detector::new(Model::load(descriptor_path)?))
    }

    /// The model in use now.
    pub fn model(&self) -> Arc<Model> {
        // A poisoned lock only means a thread panicked while swapping an Arc: the Arc is whole.
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Installs another model for the next frames; returns the one it replaces. Load (and so
    /// verify) the new model first: a model that fails to load never replaces a working one.
    pub fn replace_model(&self, model: impl Into<Arc<Model>>) -> Arc<Model> {
        let model = model.into();
        let mut slot = self.current.write().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *slot, model)
    }

    /// Finds the objects in one frame with the current model.
    pub fn detect(&self, frame: &Frame<'_>) -> Result<Vec<Detection>> {
        let model = self.model();
        model.detect(frame)
    }
}
