// MSBuild inline task (compiled against netstandard2.0 by RoslynCodeTaskFactory).
// Marks the libstdc++ symbol-version requirements of an ELF64 shared object that this machine's
// libstdc++ does not define as weak (VER_FLG_WEAK), so the dynamic loader tolerates their absence.
// Only the vna_flags field of those Vernaux records changes; the file is rewritten through a temp
// file + rename with its original mtime (so copy-local keeps treating it as up to date).
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class PatchElfWeakVersions : Task
{
    [Required] public ITaskItem[] Files { get; set; } = new ITaskItem[0];
    [Required] public string SystemLibraryDirs { get; set; } = "";

    const uint ShtGnuVerdef = 0x6ffffffd;
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 2;
    const string LibStdCxx = "libstdc++.so.6";

    public override bool Execute()
    {
        string? systemLib = null;
        foreach (var dir in SystemLibraryDirs.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, LibStdCxx);
            if (File.Exists(candidate)) { systemLib = candidate; break; }
        }
        if (systemLib == null)
        {
            Log.LogMessage(MessageImportance.Low, "PixelBox: no system libstdc++.so.6 found; TorchSharp natives left as they are.");
            return true;
        }
        HashSet<string> provided;
        try { provided = DefinedVersions(File.ReadAllBytes(systemLib)); }
        catch (Exception e) { Log.LogError("PixelBox: cannot read symbol versions of {0}: {1}", systemLib, e.Message); return false; }

        foreach (var item in Files)
        {
            var path = item.ItemSpec;
            try
            {
                var bytes = File.ReadAllBytes(path);
                var weakened = WeakenMissing(bytes, provided);
                if (weakened.Count == 0) continue;
                var mtime = File.GetLastWriteTimeUtc(path);
                var tmp = path + ".pixelbox-patch.tmp";
                File.WriteAllBytes(tmp, bytes);
                File.SetLastWriteTimeUtc(tmp, mtime);
                File.Replace(tmp, path, null);
                File.SetLastWriteTimeUtc(path, mtime);
                Log.LogMessage(MessageImportance.High, "PixelBox: {0}: marked weak {1} (absent from {2})", path, string.Join(", ", weakened), systemLib);
            }
            catch (Exception e)
            {
                Log.LogError("PixelBox: cannot patch {0}: {1}", path, e.Message);
                return false;
            }
        }
        return true;
    }

    struct Section { public uint Type; public long Offset; public long Size; public uint Link; public uint Info; }

    static Section[] Sections(byte[] b)
    {
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (b[4] != 2 || b[5] != 1) throw new InvalidDataException("not a little-endian ELF64 file");
        long shoff = (long)U64(b, 0x28);
        int shentsize = U16(b, 0x3A), shnum = U16(b, 0x3C);
        if (shoff <= 0 || shentsize < 64 || shoff + (long)shentsize * shnum > b.Length)
            throw new InvalidDataException("section header table out of range");
        var result = new Section[shnum];
        for (int i = 0; i < shnum; i++)
        {
            int h = checked((int)(shoff + (long)i * shentsize));
            result[i] = new Section
            {
                Type = U32(b, h + 4),
                Offset = (long)U64(b, h + 24),
                Size = (long)U64(b, h + 32),
                Link = U32(b, h + 40),
                Info = U32(b, h + 44),
            };
        }
        return result;
    }

    static HashSet<string> DefinedVersions(byte[] b)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var sections = Sections(b);
        foreach (var s in sections)
        {
            if (s.Type != ShtGnuVerdef) continue;
            var strtab = sections[s.Link];
            long def = s.Offset;
            for (uint i = 0; i < s.Info; i++)
            {
                int cnt = U16(b, (int)def + 6);
                long aux = def + U32(b, (int)def + 12);
                for (int j = 0; j < cnt; j++)
                {
                    names.Add(CString(b, strtab.Offset + U32(b, (int)aux)));
                    aux += U32(b, (int)aux + 4);
                }
                uint next = U32(b, (int)def + 16);
                if (next == 0) break;
                def += next;
            }
        }
        return names;
    }

    static List<string> WeakenMissing(byte[] b, HashSet<string> provided)
    {
        var weakened = new List<string>();
        var sections = Sections(b);
        foreach (var s in sections)
        {
            if (s.Type != ShtGnuVerneed) continue;
            var strtab = sections[s.Link];
            long need = s.Offset;
            for (uint i = 0; i < s.Info; i++)
            {
                int cnt = U16(b, (int)need + 2);
                string file = CString(b, strtab.Offset + U32(b, (int)need + 4));
                long aux = need + U32(b, (int)need + 8);
                for (int j = 0; j < cnt; j++)
                {
                    int a = (int)aux;
                    string name = CString(b, strtab.Offset + U32(b, a + 8));
                    ushort flags = (ushort)U16(b, a + 4);
                    if (file == LibStdCxx && !provided.Contains(name) && (flags & VerFlgWeak) == 0)
                    {
                        flags |= VerFlgWeak;
                        b[a + 4] = (byte)flags;
                        b[a + 5] = (byte)(flags >> 8);
                        weakened.Add(name);
                    }
                    uint nextAux = U32(b, a + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = U32(b, (int)need + 12);
                if (next == 0) break;
                need += next;
            }
        }
        return weakened;
    }

    static int U16(byte[] b, int o) => b[o] | (b[o + 1] << 8);
    static uint U32(byte[] b, int o) => (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24));
    static ulong U64(byte[] b, int o) => U32(b, o) | ((ulong)U32(b, o + 4) << 32);

    static string CString(byte[] b, long offset)
    {
        int start = checked((int)offset), end = start;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, start, end - start);
    }
}
