; Inno Setup script for Switchboard (Windows). Built by .github/workflows/installers.yml:
;   iscc /DVersion=0.1.0 packaging\windows\switchboard.iss
; Installs the PyInstaller one-folder app (dist\switchboard) per user, adds Start menu entries,
; and offers "Start at login" (the app's own setting writes the same Run value later).
; Uninstalling leaves the user's config, request log and Credential Manager keys alone.

#ifndef Version
  #define Version "0.1.0"
#endif

[Setup]
AppId={{6C0C4E1B-6F0B-4E55-9D0B-5B1C8C2A9E11}
AppName=Switchboard
AppVersion={#Version}
AppPublisher=Switchboard developers
DefaultDirName={localappdata}\Programs\Switchboard
DefaultGroupName=Switchboard
PrivilegesRequired=lowest
OutputDir=..\..\dist
OutputBaseFilename=Switchboard-{#Version}-setup
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\switchboard.exe

[Files]
Source: "..\..\dist\switchboard\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
Name: "{group}\Switchboard"; Filename: "{app}\switchboard.exe"
Name: "{group}\Uninstall Switchboard"; Filename: "{uninstallexe}"

[Tasks]
Name: "autostart"; Description: "Start Switchboard when I sign in"; Flags: unchecked

[Registry]
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "Switchboard"; \
  ValueData: """{app}\switchboard.exe"""; Tasks: autostart; Flags: uninsdeletevalue

[Run]
Filename: "{app}\switchboard.exe"; Description: "Start Switchboard now"; Flags: nowait postinstall skipifsilent
