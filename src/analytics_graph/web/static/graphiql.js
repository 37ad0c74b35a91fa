// The GraphiQL page (served at /graphql to browsers in development mode), with every
// asset from this server. ?q=, ?variables= and ?headers= fill its editors.
(function () {
  "use strict";
  const parameters = Object.fromEntries(new URLSearchParams(window.location.search));
  const fetchURL = window.location.href.split(/[?#]/)[0];
  const socket = new URL(fetchURL);
  socket.protocol = socket.protocol === "https:" ? "wss:" : "ws:";

  function updateURL(changes) {
    Object.assign(parameters, changes);
    const search = new URLSearchParams(
      Object.entries(parameters).filter(([, value]) => Boolean(value)),
    );
    history.replaceState(null, "", "?" + search.toString());
  }

  const fetcher = GraphiQL.createFetcher({ url: fetchURL, subscriptionUrl: socket.toString() });
  const element = React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: "# Ask for what the dashboard shows, e.g.\n{ me { handle followerCount } }\n",
    query: parameters.q,
    variables: parameters.variables,
    headers: parameters.headers,
    onEditQuery: (q) => updateURL({ q }),
    onEditVariables: (variables) => updateURL({ variables }),
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
    inputValueDeprecation: true,
  });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(element);
})();
