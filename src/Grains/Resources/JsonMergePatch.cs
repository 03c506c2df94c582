using System.Text.Json.Nodes;

namespace ApiPlatform.Grains.Resources;

/// <summary>RFC 7396 JSON Merge Patch: objects merge key by key, <c>null</c> removes a key, anything else replaces.</summary>
public static class JsonMergePatch
{
    public static JsonNode? Apply(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target as JsonObject is { } targetObject ? (JsonObject)targetObject.DeepClone() : [];
        foreach (var (name, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(name);
            }
            else
            {
                result[name] = Apply(result[name], value);
            }
        }

        return result;
    }

    /// <summary>Applies a patch to a JSON object's text; the result is always an object (null becomes <c>{}</c>).</summary>
    public static string ApplyToObject(string target, string patch)
    {
        var merged = Apply(JsonNode.Parse(target), JsonNode.Parse(patch));
        return (merged as JsonObject ?? []).ToJsonString();
    }
}
