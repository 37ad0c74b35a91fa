// The page's only way to the server: GraphQL over HTTP (POST /graphql) and
// graphql-transport-ws subscriptions at the same address (the graphql-ws client).

import { createClient } from "/static/vendor/graphql-ws/client.js";

export class ApiError extends Error {
  constructor(message, status, errors = []) {
    super(message);
    this.status = status;
    this.errors = errors;
  }
  get unauthenticated() {
    return this.status === 401 || this.errors.some((e) => e.extensions?.code === "UNAUTHENTICATED");
  }
}

const endpoint = new URL("/graphql", window.location.href);

export class Api {
  constructor(token, onLive) {
    this.token = token;
    this.onLive = onLive; // ("connecting" | "live" | "offline") => void
    this.client = null;
  }

  /** Runs a named query; resolves to its data, rejects with an ApiError. */
  async query(document, operationName, variables) {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json",
        authorization: `Bearer ${this.token}`,
      },
      body: JSON.stringify({ query: document, operationName, variables }),
    });
    let body;
    try {
      body = await response.json();
    } catch {
      throw new ApiError(`the server answered ${response.status}`, response.status);
    }
    if (body.errors?.length) {
      throw new ApiError(body.errors.map((e) => e.message).join("; "), response.status, body.errors);
    }
    return body.data;
  }

  /** Starts a subscription; ``onData`` gets each payload's data. Returns the stop function. */
  subscribe(document, operationName, variables, onData, onError) {
    const client = this.#client();
    return client.subscribe(
      { query: document, operationName, variables },
      {
        next: (message) => {
          if (message.errors?.length) onError(new ApiError(message.errors[0].message, 200, message.errors));
          else onData(message.data);
        },
        error: (error) => onError(error instanceof Error ? error : new ApiError(String(error?.reason || error), 0)),
        complete: () => {},
      },
    );
  }

  close() {
    this.client?.dispose();
    this.client = null;
    this.onLive("offline");
  }

  #client() {
    if (this.client) return this.client;
    const url = new URL(endpoint);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    this.onLive("connecting");
    this.client = createClient({
      url: url.toString(),
      connectionParams: { Authorization: `Bearer ${this.token}` },
      retryAttempts: Infinity,
      keepAlive: 15_000,
      on: {
        connecting: () => this.onLive("connecting"),
        connected: () => this.onLive("live"),
        closed: () => this.onLive("offline"),
      },
    });
    return this.client;
  }
}
