// Deployment settings for the chat widget. Edit or replace this file when deploying
// (the handoff service generates its own at /widget/config.js from PUBLIC_RASA_URL).
// Without a rasaUrl the widget connects to http://<page hostname>:5005. The page's own
// URL is never read: a link cannot point the chat at another server.
window.WIDGET_CONFIG = window.WIDGET_CONFIG || {
  // rasaUrl: "https://support.example.com",
  // userToken: "<the wallet app's signed JWT for its logged-in user>",
};
