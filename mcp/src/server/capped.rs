//! Caps on what one request may name, checked on the wire before it is
//! decoded: a request's repeated name fields (`resource_names`,
//! `resource_names_subscribe`, `initial_resource_versions`, …) are counted
//! by walking its top-level fields, so a request of millions of tiny names
//! is refused for the price of reading it, not of building millions of
//! strings.

use bytes::Buf;
use prost::encoding::{DecodeContext, WireType, decode_key, skip_field};
use tonic::Status;
use tonic::codec::{DecodeBuf, Decoder};

/// A decoder that refuses a message with more than `max` entries in
/// `fields` (together), then decodes with `inner`.
pub(super) struct Capped<D> {
    pub(super) inner: D,
    pub(super) fields: &'static [u32],
    pub(super) max: usize,
}

impl<D: Decoder<Error = Status>> Decoder for Capped<D> {
    type Item = D::Item;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        let count = count_entries(buf.chunk(), self.fields).map_err(|e| {
            Status::invalid_argument(format!("a request that does not decode: {e}"))
        })?;
        if count > self.max {
            return Err(Status::resource_exhausted(format!(
                "a request naming {count} resources: at most {} (mcp.maxNamesPerRequest)",
                self.max
            )));
        }
        self.inner.decode(buf)
    }

    fn buffer_settings(&self) -> tonic::codec::BufferSettings {
        self.inner.buffer_settings()
    }
}

/// How many entries of `fields` the encoded message `message` holds.
fn count_entries(mut message: &[u8], fields: &[u32]) -> Result<usize, prost::DecodeError> {
    let mut count = 0;
    while message.has_remaining() {
        let (tag, wire_type) = decode_key(&mut message)?;
        if fields.contains(&tag) && wire_type == WireType::LengthDelimited {
            count += 1;
        }
        skip_field(wire_type, tag, &mut message, DecodeContext::default())?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use galleon_proto::mcp::RequestResources;
    use galleon_proto::xds::DeltaDiscoveryRequest;
    use prost::Message;

    use super::*;

    #[test]
    fn counts_map_entries_and_repeated_strings_only_in_the_named_fields() {
        let request = RequestResources {
            collection: "c".into(),
            initial_resource_versions: (0..7).map(|i| (format!("n{i}"), "v".into())).collect(),
            ..Default::default()
        };
        assert_eq!(count_entries(&request.encode_to_vec(), &[3]), Ok(7));
        assert_eq!(count_entries(&request.encode_to_vec(), &[4]), Ok(0));
        let delta = DeltaDiscoveryRequest {
            type_url: "t".into(),
            resource_names_subscribe: vec!["a".into(); 5],
            resource_names_unsubscribe: vec!["b".into(); 2],
            initial_resource_versions: [("x".to_owned(), "1".to_owned())].into(),
            ..Default::default()
        };
        assert_eq!(count_entries(&delta.encode_to_vec(), &[3, 4, 5]), Ok(8));
    }

    #[test]
    fn a_truncated_message_is_an_error_not_a_panic() {
        let request = DeltaDiscoveryRequest {
            resource_names_subscribe: vec!["abcdef".into()],
            ..Default::default()
        };
        let bytes = request.encode_to_vec();
        for end in 0..bytes.len() {
            let _ = count_entries(&bytes[..end], &[3]);
        }
        assert!(count_entries(&bytes[..bytes.len() - 1], &[3]).is_err());
    }
}
