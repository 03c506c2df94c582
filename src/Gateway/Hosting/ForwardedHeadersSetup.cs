using Microsoft.AspNetCore.HttpOverrides;

namespace ApiPlatform.Gateway.Hosting;

/// <summary>
/// Reads RFC 7239 <c>Forwarded</c> (<c>for=</c>, <c>proto=</c>) as <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c> when
/// a request carries only the former, so proxies that speak either are understood. Whether the values are believed
/// is still decided by <see cref="ForwardedHeadersMiddleware"/>: only from a trusted peer.
/// </summary>
public sealed class Rfc7239ForwardedMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var headers = context.Request.Headers;
        if (headers.ContainsKey("Forwarded") && !headers.ContainsKey(ForwardedHeadersDefaults.XForwardedForHeaderName))
        {
            var fors = new List<string>();
            var protos = new List<string>();
            foreach (var element in string.Join(",", headers["Forwarded"].ToArray()).Split(','))
            {
                foreach (var pair in element.Split(';'))
                {
                    var eq = pair.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0)
                    {
                        continue;
                    }

                    var name = pair[..eq].Trim();
                    var value = pair[(eq + 1)..].Trim().Trim('"');
                    if (name.Equals("for", StringComparison.OrdinalIgnoreCase))
                    {
                        fors.Add(NodeAddress(value));
                    }
                    else if (name.Equals("proto", StringComparison.OrdinalIgnoreCase))
                    {
                        protos.Add(value);
                    }
                }
            }

            if (fors.Count > 0)
            {
                headers[ForwardedHeadersDefaults.XForwardedForHeaderName] = string.Join(", ", fors);
            }

            if (protos.Count > 0)
            {
                headers[ForwardedHeadersDefaults.XForwardedProtoHeaderName] = string.Join(", ", protos);
            }
        }

        return next(context);
    }

    // RFC 7239 nodes: 192.0.2.43, 192.0.2.43:47011, [2001:db8::1], [2001:db8::1]:4711, unknown, _obfuscated.
    private static string NodeAddress(string node)
    {
        if (node.StartsWith('['))
        {
            var close = node.IndexOf(']', StringComparison.Ordinal);
            return close > 0 ? node[1..close] : node;
        }

        var colon = node.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && node.IndexOf(':', colon + 1) < 0 ? node[..colon] : node;
    }
}
