//! The page's entry point: mounts the uploader on `<body>`.

fn main() {
    app::mount();
}
