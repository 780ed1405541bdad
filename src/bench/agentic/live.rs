//! The live driver: the schedule on tokio's clock, requests through the bench HTTP client.
