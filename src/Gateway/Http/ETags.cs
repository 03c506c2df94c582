using System.Globalization;
using Microsoft.Net.Http.Headers;

namespace ApiPlatform.Gateway.Http;

/// <summary>Entity tags are the quoted version number of a document: <c>"3"</c>.</summary>
public static class ETags
{
    public static string Format(long version) => "\"" + version.ToString(CultureInfo.InvariantCulture) + "\"";

    /// <summary>
    /// The versions an <c>If-Match</c> / <c>If-None-Match</c> header names: null when the header is absent or <c>*</c>
    /// (any), an empty list when it names nothing this server could have issued.
    /// </summary>
    public static IReadOnlyList<long>? Parse(HttpRequest request, string headerName, out bool wildcard)
    {
        wildcard = false;
        var values = request.Headers[headerName];
        if (values.Count == 0)
        {
            return null;
        }

        if (!EntityTagHeaderValue.TryParseList(values, out var tags))
        {
            return [];
        }

        if (tags.Any(t => t.Equals(EntityTagHeaderValue.Any)))
        {
            wildcard = true;
            return null;
        }

        var versions = new List<long>();
        foreach (var tag in tags)
        {
            var text = tag.Tag.Value?.Trim('"');
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                versions.Add(version);
            }
        }

        return versions;
    }
}
