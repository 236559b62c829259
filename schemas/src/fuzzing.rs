//! (feature `fuzzing`) The typed codec's fuzz target entry point: arbitrary
//! bytes, when they are JSON, transcoded into a message that has every kind
//! of field Istio's messages use (nested and repeated messages, maps,
//! enums, durations, `Struct`, wrappers, 64-bit integers, floats, bytes,
//! a oneof). Not part of the API.

use std::sync::OnceLock;

use galleon_pipeline::BodyCodec;

use crate::{TypedCodec, UnknownFields};

const SCHEMA: &str = r#"
syntax = "proto3";
package fuzz.v1;
import "google/protobuf/duration.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/wrappers.proto";
message Route {
  repeated Destination route = 1;
  google.protobuf.Duration timeout = 2;
  map<string, Destination> named = 3;
  google.protobuf.BoolValue enabled = 4;
  Mode mode = 5;
  int64 big = 6;
  google.protobuf.Struct extra = 7;
  repeated string export_to = 8;
  double fraction = 9;
  repeated float shares = 10;
  bytes blob = 11;
  oneof match { string exact = 12; string prefix = 13; }
  map<string, google.protobuf.Duration> timeouts = 14;
  uint32 port = 15;
  Route nested = 16;
}
message Destination { string host = 1; int32 weight = 2; google.protobuf.UInt32Value max = 3; }
enum Mode { MODE_UNSPECIFIED = 0; STRICT = 1; PERMISSIVE = 2; }
"#;

fn codec() -> &'static TypedCodec {
    static CODEC: OnceLock<TypedCodec> = OnceLock::new();
    CODEC.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("galleon-fuzz-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        std::fs::write(dir.join("fuzz.proto"), SCHEMA).expect("write the schema");
        let mut compiler = protox::Compiler::new([&dir]).expect("a compiler");
        compiler
            .open_file("fuzz.proto")
            .expect("the schema compiles");
        let message = compiler
            .descriptor_pool()
            .get_message_by_name("fuzz.v1.Route")
            .expect("the message");
        TypedCodec::new(message, "spec", UnknownFields::Warn)
    })
}

/// Transcodes `data`, when it is JSON; never panics.
pub fn fuzz_typed(data: &[u8]) {
    if let Ok(body) = serde_json::from_slice(data) {
        let _ = codec().encode(&body);
    }
}
