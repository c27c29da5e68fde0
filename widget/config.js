// Deployment settings for the chat widget. Edit or replace this file when deploying.
// Without a rasaUrl the widget connects to http://<page hostname>:5005;
// a `?rasa=http://host:5005` query parameter on the page overrides both.
window.WIDGET_CONFIG = window.WIDGET_CONFIG || {
  // rasaUrl: "https://support.example.com",
};
