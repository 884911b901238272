//! Images from the build: CodePipeline's `imagedefinitions.json`
//! (`[{"name": "<container>", "imageUri": "<uri>"}]`, what the ECS deploy
//! action reads) and `imageDetail.json` (`{"ImageURI": "<uri>"}`, one image).

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::app::{App, Image};
use crate::diag::{Diagnostic, Diagnostics, Pos};

#[derive(Deserialize)]
struct ImageDefinition {
    name: String,
    #[serde(rename = "imageUri")]
    image_uri: String,
}

#[derive(Deserialize)]
struct ImageDetail {
    #[serde(rename = "ImageURI")]
    image_uri: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ImagesFile {
    Definitions(Vec<ImageDefinition>),
    Detail(ImageDetail),
}

/// Sets the images of the containers the file names. Every name must be a
/// container of the app.
pub fn apply_images_from(app: &mut App, path: &Path, shown: &Path) -> Diagnostics {
    let file = Arc::new(shown.to_path_buf());
    let at = |line: usize, col: usize| Some(Pos { file: file.clone(), line, col });
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return Diagnostics(vec![
                Diagnostic::error("", format!("cannot read {}: {e}", shown.display())).hint("check the path given to --images-from")
            ])
        }
    };
    let parsed: ImagesFile = match serde_json::from_str(&text) {
        Ok(p) => p,
        Err(e) => {
            return Diagnostics(vec![Diagnostic::error("", format!("not an imagedefinitions.json or imageDetail.json: {e}"))
                .at(at(e.line().max(1), e.column().max(1)))
                .hint(r#"expected [{"name": "<container>", "imageUri": "<uri>"}] or {"ImageURI": "<uri>"}"#)])
        }
    };
    // berth's init container is not the app's: no build sets its image.
    let is_app = |c: &crate::app::Container| c.name != crate::files::INIT_CONTAINER;
    let known: Vec<String> = app.tasks.iter().flat_map(|t| t.containers.iter().filter(|c| is_app(c)).map(|c| c.name.clone())).collect();
    let definitions = match parsed {
        ImagesFile::Definitions(d) => d,
        ImagesFile::Detail(d) => {
            // One image with no name: it can only mean the one service CI builds.
            let built: Vec<String> =
                app.tasks.iter().flat_map(|t| t.containers.iter().filter(|c| c.build.is_some()).map(|c| c.name.clone())).collect();
            match built.as_slice() {
                [only] => vec![ImageDefinition { name: only.clone(), image_uri: d.image_uri }],
                _ => {
                    return Diagnostics(vec![Diagnostic::error(
                        "",
                        format!("imageDetail.json names no container and the spec builds {} services", built.len()),
                    )
                    .at(at(1, 1))
                    .hint("use imagedefinitions.json, which names each container")])
                }
            }
        }
    };
    let mut diags = Diagnostics::default();
    for def in definitions {
        let line = text.lines().position(|l| l.contains(&format!("\"{}\"", def.name))).map_or(1, |i| i + 1);
        let container = app.tasks.iter_mut().flat_map(|t| t.containers.iter_mut()).find(|c| c.name == def.name && is_app(c));
        match container {
            Some(c) => c.image = Image::External { reference: def.image_uri },
            None => diags.push(
                Diagnostic::error(def.name.clone(), format!("names no container of app {}", app.name))
                    .at(at(line, 1))
                    .hint(format!("the containers are: {}", known.join(", "))),
            ),
        }
    }
    diags
}
