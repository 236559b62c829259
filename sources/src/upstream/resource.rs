//! An upstream's `istio.mcp.v1alpha1.Resource` as a pipeline [`Entry`]:
//! metadata carried over, the body turned back into the JSON the pipeline
//! holds (a `Struct` as its fields; a typed body through the hub's schemas).

use galleon_pipeline::diagnostics::quote;
use galleon_pipeline::event::Entry;
use galleon_proto::STRUCT_TYPE_URL;
use galleon_proto::json::struct_to_json;
use galleon_proto::mcp::Resource;
use galleon_schemas::{DescriptorPool, any_to_json};
use prost::Message;
use serde_json::Value;

use crate::documents::{NameError, check_resource_name};

/// Why an upstream resource cannot enter the pipeline.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResourceError {
    #[error("the resource has no metadata or no name")]
    Unnamed,
    #[error("{name}: {reason}")]
    BadName { name: String, reason: NameError },
    #[error(
        "{name}: the body is {size} bytes, over the {limit}-byte limit (maxResourceSize); its last good version stays served"
    )]
    TooLarge {
        name: String,
        size: usize,
        limit: usize,
    },
    #[error("{name}: the resource has no body")]
    NoBody { name: String },
    #[error("{name}: the Struct body does not decode: {reason}")]
    BadStruct { name: String, reason: String },
    #[error(
        "{name}: the body's message {type_url} is not in the hub's schemas; add its .proto under schemas.protoPaths"
    )]
    UnknownMessage { name: String, type_url: String },
    #[error("{name}: the {type_url} body does not decode: {reason}")]
    BadBody {
        name: String,
        type_url: String,
        reason: String,
    },
}

/// The entry a resource stands for, held to the rules a file's resource
/// is: a name Kubernetes would accept, a body no larger than `max_size`.
pub(crate) fn entry(
    resource: &Resource,
    pool: &DescriptorPool,
    max_size: usize,
) -> Result<Entry, ResourceError> {
    let metadata = resource
        .metadata
        .as_ref()
        .filter(|m| !m.name.is_empty())
        .ok_or(ResourceError::Unnamed)?;
    let name = metadata.name.clone();
    if let Err(reason) = check_resource_name(&name) {
        return Err(ResourceError::BadName {
            name: quote(&name),
            reason,
        });
    }
    let any = resource
        .body
        .as_ref()
        .ok_or_else(|| ResourceError::NoBody { name: name.clone() })?;
    if any.value.len() > max_size {
        return Err(ResourceError::TooLarge {
            name,
            size: any.value.len(),
            limit: max_size,
        });
    }
    let body = if any.type_url == STRUCT_TYPE_URL {
        let body = prost_types::Struct::decode(any.value.as_slice()).map_err(|e| {
            ResourceError::BadStruct {
                name: name.clone(),
                reason: e.to_string(),
            }
        })?;
        Value::Object(struct_to_json(&body))
    } else {
        match any_to_json(pool, any) {
            Some(Ok(body)) => body,
            Some(Err(reason)) => {
                return Err(ResourceError::BadBody {
                    name,
                    type_url: any.type_url.clone(),
                    reason,
                });
            }
            None => {
                return Err(ResourceError::UnknownMessage {
                    name,
                    type_url: any.type_url.clone(),
                });
            }
        }
    };
    Ok(Entry {
        labels: metadata.labels.clone(),
        annotations: metadata.annotations.clone(),
        create_time: metadata.create_time.map(|t| t.to_string()),
        version: metadata.version.clone(),
        body: body.into(),
        origin: None,
        name,
    })
}
