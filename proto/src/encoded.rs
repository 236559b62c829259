//! The `Resources` push message, with each resource held as encoded bytes.
//!
//! On the wire an embedded message and a `bytes` field are both
//! length-delimited, so `repeated bytes resources = 3` is byte-for-byte the
//! same as `repeated Resource resources = 3`. Holding bytes means a source
//! encodes a resource once per snapshot and every push to every sink only
//! copies a reference-counted buffer; a sink decodes each resource on its own
//! and can tell exactly which one was malformed.

use bytes::Bytes;
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

use crate::mcp::Resource;

/// Field number of `Resources.resources`.
const RESOURCES_FIELD: u32 = 3;

/// Encodes `resource` as one entry of `Resources.resources`: the field's key
/// and length, then the message. A push can send such entries as they are,
/// after the other fields (protobuf parsers accept fields in any order).
/// Returns the entry and the offset at which the message starts.
pub fn encode_entry(resource: &Resource) -> (Bytes, usize) {
    let len = resource.encoded_len();
    let prefix = key_len(RESOURCES_FIELD) + encoded_len_varint(len as u64);
    let mut entry = Vec::with_capacity(prefix + len);
    encode_key(RESOURCES_FIELD, WireType::LengthDelimited, &mut entry);
    encode_varint(len as u64, &mut entry);
    resource
        .encode(&mut entry)
        .expect("the buffer was sized for the message");
    (entry.into(), prefix)
}

/// Encodes `message` as one entry of a repeated message field numbered
/// `field`: key, length, then the message, ready to be sent after a
/// response's other fields.
pub fn encode_field_entry(field: u32, message: &impl Message) -> Bytes {
    let len = message.encoded_len();
    let mut entry = Vec::with_capacity(key_len(field) + encoded_len_varint(len as u64) + len);
    encode_key(field, WireType::LengthDelimited, &mut entry);
    encode_varint(len as u64, &mut entry);
    message
        .encode(&mut entry)
        .expect("the buffer was sized for the message");
    entry.into()
}

/// `istio.mcp.v1alpha1.Resources`: the state of one collection, full or
/// incremental, pushed from a source to a sink.
#[derive(Clone, PartialEq, Message)]
pub struct Resources {
    /// Debugging aid only; sinks must not interpret it.
    #[prost(string, tag = "1")]
    pub system_version_info: String,
    /// The collection this push is for.
    #[prost(string, tag = "2")]
    pub collection: String,
    /// Encoded `istio.mcp.v1alpha1.Resource` messages.
    #[prost(bytes = "bytes", repeated, tag = "3")]
    pub resources: Vec<Bytes>,
    /// Names removed since the last acknowledged push (incremental only).
    #[prost(string, repeated, tag = "4")]
    pub removed_resources: Vec<String>,
    /// Unique per push on a stream; echoed back by the ACK or NACK.
    #[prost(string, tag = "5")]
    pub nonce: String,
    /// Whether `resources` are changes (true) or the whole collection (false).
    #[prost(bool, tag = "6")]
    pub incremental: bool,
}

impl Resources {
    /// Decodes each carried resource, or reports the index of the first one
    /// that does not decode.
    pub fn decode_resources(&self) -> Result<Vec<Resource>, (usize, prost::DecodeError)> {
        self.resources
            .iter()
            .enumerate()
            .map(|(index, bytes)| Resource::decode(bytes.clone()).map_err(|e| (index, e)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::Metadata;

    /// The message as the `.proto` declares it, for comparing wire bytes.
    #[derive(Clone, PartialEq, Message)]
    struct TypedResources {
        #[prost(string, tag = "1")]
        system_version_info: String,
        #[prost(string, tag = "2")]
        collection: String,
        #[prost(message, repeated, tag = "3")]
        resources: Vec<Resource>,
        #[prost(string, repeated, tag = "4")]
        removed_resources: Vec<String>,
        #[prost(string, tag = "5")]
        nonce: String,
        #[prost(bool, tag = "6")]
        incremental: bool,
    }

    fn resource(name: &str) -> Resource {
        Resource {
            metadata: Some(Metadata {
                name: name.into(),
                version: "v1".into(),
                ..Default::default()
            }),
            body: Some(prost_types::Any {
                type_url: crate::STRUCT_TYPE_URL.into(),
                value: vec![1, 2, 3],
            }),
        }
    }

    #[test]
    fn wire_identical_to_typed_message() {
        let typed = TypedResources {
            system_version_info: "sys".into(),
            collection: "c".into(),
            resources: vec![resource("ns/a"), resource("ns/b")],
            removed_resources: vec!["ns/z".into()],
            nonce: "7".into(),
            incremental: true,
        };
        let encoded = Resources {
            system_version_info: "sys".into(),
            collection: "c".into(),
            resources: typed
                .resources
                .iter()
                .map(|r| Bytes::from(r.encode_to_vec()))
                .collect(),
            removed_resources: vec!["ns/z".into()],
            nonce: "7".into(),
            incremental: true,
        };
        let bytes = encoded.encode_to_vec();
        assert_eq!(bytes, typed.encode_to_vec());
        let back = TypedResources::decode(bytes.as_slice()).unwrap();
        assert_eq!(back, typed);
        assert_eq!(encoded.decode_resources().unwrap(), typed.resources);
    }

    #[test]
    fn entries_after_the_other_fields_decode_as_the_message() {
        let header = Resources {
            system_version_info: "sys".into(),
            collection: "c".into(),
            nonce: "7".into(),
            ..Default::default()
        };
        let mut wire = header.encode_to_vec();
        for name in ["ns/a", "ns/b"] {
            let (entry, offset) = encode_entry(&resource(name));
            assert_eq!(entry.slice(offset..), resource(name).encode_to_vec());
            wire.extend_from_slice(&entry);
        }
        let decoded = Resources::decode(wire.as_slice()).unwrap();
        assert_eq!(decoded.nonce, "7");
        assert_eq!(
            decoded.decode_resources().unwrap(),
            [resource("ns/a"), resource("ns/b")]
        );
    }

    #[test]
    fn reports_which_resource_is_malformed() {
        let msg = Resources {
            resources: vec![
                Bytes::from(resource("ns/a").encode_to_vec()),
                Bytes::from_static(&[0xff, 0xff]),
            ],
            ..Default::default()
        };
        let (index, _) = msg.decode_resources().unwrap_err();
        assert_eq!(index, 1);
    }
}
